# What a person needs next: where to upload, where the variants land, where to look.

output "aws_region" {
  description = "Region of the stack (scripts/destroy.sh talks to its buckets there)."
  value       = local.region
}

output "upload_bucket_name" {
  description = "Bucket to upload images to."
  value       = aws_s3_bucket.this["upload"].id
}

output "processed_bucket_name" {
  description = "Bucket the five variants are written to."
  value       = aws_s3_bucket.this["processed"].id
}

output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.function.arn
}

output "upload_command_example" {
  description = "A command that uploads an image and so runs the pipeline."
  value       = "aws s3 cp my-photo.jpg s3://${aws_s3_bucket.this["upload"].id}/${var.upload_prefix}"
}

output "reprocess_command_example" {
  description = "A command that runs an upload through the function's code again from a laptop (runbooks: redrive)."
  value       = "PROCESSED_BUCKET=${aws_s3_bucket.this["processed"].id} imgflow reprocess s3://${aws_s3_bucket.this["upload"].id}/${var.upload_prefix}my-photo.jpg"
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "dashboard_url" {
  description = "The CloudWatch dashboard in the AWS console."
  value       = "https://${local.region}.console.aws.amazon.com/cloudwatch/home?region=${local.region}#dashboards/dashboard/${aws_cloudwatch_dashboard.this.dashboard_name}"
}

output "log_group_name" {
  description = "Log group of the function (JSON lines, EMF metrics included)."
  value       = aws_cloudwatch_log_group.function.name
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies: subscribe the on-call pager to it."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms, by alarm (alarms/<alarm>.json)."
  value       = { for k, a in aws_cloudwatch_metric_alarm.this : k => a.alarm_name }
}

output "failed_events_queue_url" {
  description = "URL of the SQS queue where events that failed every retry wait (14 days) for a redrive."
  value       = aws_sqs_queue.failed_events.url
}

output "failed_events_queue_arn" {
  description = "ARN of the failed-events queue."
  value       = aws_sqs_queue.failed_events.arn
}

output "kms_key_arn" {
  description = "Customer-managed KMS key of the data (null unless enable_kms)."
  value       = local.kms_key_arn
}

output "vpc_id" {
  description = "VPC created for the function (null unless enable_vpc without subnet_ids)."
  value       = try(aws_vpc.this[0].id, null)
}

output "subnet_ids" {
  description = "Subnets the function runs in (empty unless enable_vpc)."
  value       = var.enable_vpc ? local.subnet_ids : []
}

output "security_group_ids" {
  description = "Security groups of the function (empty unless enable_vpc)."
  value       = var.enable_vpc ? local.security_group_ids : []
}
