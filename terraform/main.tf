# The whole imgflow stack in one region: the module, with every input passed
# through. Deploy with scripts/deploy.sh, remove with scripts/destroy.sh.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = "imgflow"
      ManagedBy = "terraform"
    }
  }
}

module "imgflow" {
  source = "./modules/imgflow"

  name                                   = var.name
  tags                                   = var.tags
  upload_bucket_name                     = var.upload_bucket_name
  processed_bucket_name                  = var.processed_bucket_name
  upload_prefix                          = var.upload_prefix
  force_destroy                          = var.force_destroy
  noncurrent_version_expiration_days     = var.noncurrent_version_expiration_days
  abort_incomplete_multipart_upload_days = var.abort_incomplete_multipart_upload_days
  enable_kms                             = var.enable_kms
  kms_key_arn                            = var.kms_key_arn
  kms_deletion_window_days               = var.kms_deletion_window_days
  lambda_zip_path                        = var.lambda_zip_path
  architecture                           = var.architecture
  memory_size                            = var.memory_size
  timeout                                = var.timeout
  reserved_concurrency                   = var.reserved_concurrency
  max_retry_attempts                     = var.max_retry_attempts
  max_event_age_seconds                  = var.max_event_age_seconds
  log_level                              = var.log_level
  system_log_level                       = var.system_log_level
  log_retention_days                     = var.log_retention_days
  variants                               = var.variants
  jpeg_quality                           = var.jpeg_quality
  low_quality                            = var.low_quality
  webp_quality                           = var.webp_quality
  thumbnail_size                         = var.thumbnail_size
  max_input_pixels                       = var.max_input_pixels
  max_input_bytes                        = var.max_input_bytes
  record_concurrency                     = var.record_concurrency
  deadline_margin_ms                     = var.deadline_margin_ms
  cache_control                          = var.cache_control
  metrics_namespace                      = var.metrics_namespace
  service_name                           = var.service_name
  enable_vpc                             = var.enable_vpc
  vpc_cidr                               = var.vpc_cidr
  vpc_xray_endpoint                      = var.vpc_xray_endpoint
  subnet_ids                             = var.subnet_ids
  security_group_ids                     = var.security_group_ids
  alarm_email                            = var.alarm_email
  runbook_base_url                       = var.runbook_base_url
  alarms_dir                             = var.alarms_dir
  dashboard_template                     = var.dashboard_template
}
