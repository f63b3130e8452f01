# The function's log group, created before the function so that Lambda never
# creates one without retention.

resource "aws_cloudwatch_log_group" "function" {
  #checkov:skip=CKV_AWS_338:Retention is a variable (log_retention_days, default 30): these are operational logs, and a year of them costs more than it tells.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = local.kms_key_arn
  tags              = local.tags
}
