# imgflow: S3 upload bucket -> Lambda `bootstrap` -> S3 processed bucket, with
# the observability operators live in. This folder is the whole stack (one
# root module): names and shared values live here; each concern has its own
# file (kms, s3, sqs, iam, lambda, vpc, monitoring), the inputs are in
# variables.tf. Deploy with scripts/deploy.sh, remove with scripts/destroy.sh.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name
  partition  = data.aws_partition.current.partition

  function_name  = var.name
  log_group_name = "/aws/lambda/${local.function_name}"

  upload_bucket_name    = coalesce(var.upload_bucket_name, "${var.name}-uploads-${local.account_id}-${local.region}")
  processed_bucket_name = coalesce(var.processed_bucket_name, "${var.name}-processed-${local.account_id}-${local.region}")

  # One customer-managed key for everything when enable_kms is on: the one
  # given, or one created here.
  create_kms_key = var.enable_kms && var.kms_key_arn == null
  kms_key_arn    = var.enable_kms ? coalesce(var.kms_key_arn, try(aws_kms_key.this[0].arn, null)) : null

  # CloudWatch alarms can only publish to a topic whose key lets
  # cloudwatch.amazonaws.com use it, which the AWS-managed alias/aws/sns never
  # does. So the topic uses the stack's own key, or a small one of its own.
  alarm_topic_kms_key_arn = local.create_kms_key ? aws_kms_key.this[0].arn : aws_kms_key.alarm_topic[0].arn

  alarms_dir         = coalesce(var.alarms_dir, "${path.module}/../alarms")
  dashboard_template = coalesce(var.dashboard_template, "${path.module}/../dashboards/imgflow.json.tftpl")

  # IAM roles and CloudWatch dashboards are global to the account: their names
  # carry the region, so that the stack can be applied in several regions of
  # one account without one apply taking over (or one destroy deleting) the
  # other's. (Bucket names carry it too; everything else is regional.)
  role_name      = "${var.name}-function-${local.region}"
  dashboard_name = "${var.name}-${local.region}"

  # The function's environment: the names src/config/ reads (tests/consistency.rs
  # checks that every variable it says the stack sets is here).
  # LOG_LEVEL is deliberately absent: the function falls back to Lambda's
  # AWS_LAMBDA_LOG_LEVEL, which logging_config sets from var.log_level, so the
  # level is tuned by one variable without a code change.
  function_environment = merge(
    {
      PROCESSED_BUCKET             = local.processed_bucket_name
      VARIANTS                     = var.variants
      JPEG_QUALITY                 = tostring(var.jpeg_quality)
      LOW_QUALITY                  = tostring(var.low_quality)
      WEBP_QUALITY                 = tostring(var.webp_quality)
      THUMBNAIL_SIZE               = var.thumbnail_size
      MAX_INPUT_PIXELS             = tostring(var.max_input_pixels)
      MAX_INPUT_BYTES              = tostring(var.max_input_bytes)
      RECORD_CONCURRENCY           = tostring(var.record_concurrency)
      DEADLINE_MARGIN_MS           = tostring(var.deadline_margin_ms)
      CACHE_CONTROL                = var.cache_control
      METRICS_NAMESPACE            = var.metrics_namespace
      POWERTOOLS_METRICS_NAMESPACE = var.metrics_namespace
      POWERTOOLS_SERVICE_NAME      = var.service_name
    },
    var.enable_kms ? { KMS_KEY_ARN = local.kms_key_arn } : {},
  )

  tags = merge({ "imgflow:stack" = var.name }, var.tags)
}
