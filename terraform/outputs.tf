# What a person needs next (the module's outputs, passed through).

output "upload_bucket_name" {
  description = "Bucket to upload images to."
  value       = module.imgflow.upload_bucket_name
}

output "processed_bucket_name" {
  description = "Bucket the five variants are written to."
  value       = module.imgflow.processed_bucket_name
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = module.imgflow.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = module.imgflow.function_arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = module.imgflow.role_arn
}

output "upload_command_example" {
  description = "A command that uploads an image and so runs the pipeline."
  value       = module.imgflow.upload_command_example
}

output "reprocess_command_example" {
  description = "A command that runs an upload through the function's code again from a laptop (runbooks: redrive)."
  value       = module.imgflow.reprocess_command_example
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = module.imgflow.dashboard_name
}

output "dashboard_url" {
  description = "The CloudWatch dashboard in the AWS console."
  value       = module.imgflow.dashboard_url
}

output "log_group_name" {
  description = "Log group of the function (JSON lines, EMF metrics included)."
  value       = module.imgflow.log_group_name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies: subscribe the on-call pager to it."
  value       = module.imgflow.alarm_topic_arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, by alarm (alarms/<alarm>.json)."
  value       = module.imgflow.alarm_names
}

output "failed_events_queue_url" {
  description = "URL of the SQS queue where events that failed every retry wait (14 days) for a redrive."
  value       = module.imgflow.failed_events_queue_url
}

output "failed_events_queue_arn" {
  description = "ARN of the failed-events queue."
  value       = module.imgflow.failed_events_queue_arn
}

output "kms_key_arn" {
  description = "Customer-managed KMS key of the data (null unless enable_kms)."
  value       = module.imgflow.kms_key_arn
}

output "vpc_id" {
  description = "VPC created for the function (null unless enable_vpc without subnet_ids)."
  value       = module.imgflow.vpc_id
}

output "subnet_ids" {
  description = "Subnets the function runs in (empty unless enable_vpc)."
  value       = module.imgflow.subnet_ids
}

output "security_group_ids" {
  description = "Security groups of the function (empty unless enable_vpc)."
  value       = module.imgflow.security_group_ids
}
