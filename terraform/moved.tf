# Earlier versions of the stack were a child module (module "imgflow" in a
# root configuration that passed every variable through). A stack deployed
# from one has its resources at module.imgflow.<address> in its state; these blocks tell
# Terraform they are the same objects here, so that the next apply moves them
# in the state instead of destroying and re-creating buckets, keys and the
# function. Keep them while such states may exist (tests/terraform checks each
# names a resource of this folder).

moved {
  from = module.imgflow.aws_iam_role.function
  to   = aws_iam_role.function
}

moved {
  from = module.imgflow.aws_iam_role_policy.function
  to   = aws_iam_role_policy.function
}

moved {
  from = module.imgflow.aws_kms_key.this
  to   = aws_kms_key.this
}

moved {
  from = module.imgflow.aws_kms_alias.this
  to   = aws_kms_alias.this
}

moved {
  from = module.imgflow.aws_kms_key.alarm_topic
  to   = aws_kms_key.alarm_topic
}

moved {
  from = module.imgflow.aws_kms_alias.alarm_topic
  to   = aws_kms_alias.alarm_topic
}

moved {
  from = module.imgflow.aws_lambda_function.this
  to   = aws_lambda_function.this
}

moved {
  from = module.imgflow.aws_lambda_function_event_invoke_config.this
  to   = aws_lambda_function_event_invoke_config.this
}

moved {
  from = module.imgflow.aws_lambda_function_recursion_config.this
  to   = aws_lambda_function_recursion_config.this
}

moved {
  from = module.imgflow.aws_cloudwatch_log_group.function
  to   = aws_cloudwatch_log_group.function
}

moved {
  from = module.imgflow.aws_sns_topic.alarms
  to   = aws_sns_topic.alarms
}

moved {
  from = module.imgflow.aws_sns_topic_policy.alarms
  to   = aws_sns_topic_policy.alarms
}

moved {
  from = module.imgflow.aws_sns_topic_subscription.alarm_email
  to   = aws_sns_topic_subscription.alarm_email
}

moved {
  from = module.imgflow.aws_cloudwatch_metric_alarm.this
  to   = aws_cloudwatch_metric_alarm.this
}

moved {
  from = module.imgflow.aws_cloudwatch_dashboard.this
  to   = aws_cloudwatch_dashboard.this
}

moved {
  from = module.imgflow.aws_s3_bucket.this
  to   = aws_s3_bucket.this
}

moved {
  from = module.imgflow.aws_s3_bucket_versioning.this
  to   = aws_s3_bucket_versioning.this
}

moved {
  from = module.imgflow.aws_s3_bucket_public_access_block.this
  to   = aws_s3_bucket_public_access_block.this
}

moved {
  from = module.imgflow.aws_s3_bucket_ownership_controls.this
  to   = aws_s3_bucket_ownership_controls.this
}

moved {
  from = module.imgflow.aws_s3_bucket_server_side_encryption_configuration.this
  to   = aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = module.imgflow.aws_s3_bucket_policy.this
  to   = aws_s3_bucket_policy.this
}

moved {
  from = module.imgflow.aws_s3_bucket_lifecycle_configuration.this
  to   = aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = module.imgflow.aws_lambda_permission.s3_invoke
  to   = aws_lambda_permission.s3_invoke
}

moved {
  from = module.imgflow.aws_s3_bucket_notification.upload
  to   = aws_s3_bucket_notification.upload
}

moved {
  from = module.imgflow.aws_sqs_queue.failed_events
  to   = aws_sqs_queue.failed_events
}

moved {
  from = module.imgflow.aws_sqs_queue_policy.failed_events
  to   = aws_sqs_queue_policy.failed_events
}

moved {
  from = module.imgflow.aws_vpc.this
  to   = aws_vpc.this
}

moved {
  from = module.imgflow.aws_default_security_group.this
  to   = aws_default_security_group.this
}

moved {
  from = module.imgflow.aws_subnet.private
  to   = aws_subnet.private
}

moved {
  from = module.imgflow.aws_route_table.private
  to   = aws_route_table.private
}

moved {
  from = module.imgflow.aws_route_table_association.private
  to   = aws_route_table_association.private
}

moved {
  from = module.imgflow.aws_security_group.function
  to   = aws_security_group.function
}

moved {
  from = module.imgflow.aws_vpc_endpoint.s3
  to   = aws_vpc_endpoint.s3
}

moved {
  from = module.imgflow.aws_security_group.xray_endpoint
  to   = aws_security_group.xray_endpoint
}

moved {
  from = module.imgflow.aws_vpc_endpoint.xray
  to   = aws_vpc_endpoint.xray
}
