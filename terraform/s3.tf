# The two buckets, configured alike: versioned, private, owner-enforced,
# TLS-only, encrypted, with lifecycle rules; and the upload trigger.

locals {
  buckets = {
    upload    = local.upload_bucket_name
    processed = local.processed_bucket_name
  }
}

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket; record data events in the account's CloudTrail instead.
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice for the operator; uploads can be re-sent and variants re-made from them.
  #checkov:skip=CKV2_AWS_62:Only the upload bucket triggers anything; the processed bucket must not (the function would process its own output).
  #checkov:skip=CKV_AWS_145:KMS is opt-in (enable_kms); the default is SSE-S3 (AES-256), set by aws_s3_bucket_server_side_encryption_configuration.
  for_each = local.buckets

  bucket        = each.value
  force_destroy = var.force_destroy
  tags          = merge(local.tags, { "imgflow:bucket" = each.key })

  lifecycle {
    precondition {
      condition     = local.upload_bucket_name != local.processed_bucket_name
      error_message = "The upload and processed buckets must differ: the function would otherwise process its own output."
    }
  }
}

resource "aws_s3_bucket_versioning" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  for_each = aws_s3_bucket.this

  bucket                  = each.value.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.enable_kms ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    # S3 Bucket Keys cut KMS requests (and their cost) by orders of magnitude.
    bucket_key_enabled = var.enable_kms
  }
}

data "aws_iam_policy_document" "bucket" {
  for_each = aws_s3_bucket.this

  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyOutdatedTls"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [each.value.arn, "${each.value.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id
  policy = data.aws_iam_policy_document.bucket[each.key].json

  # A policy put before the public access block would be checked without it.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  for_each = aws_s3_bucket.this

  bucket = each.value.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
  }

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_upload_days
    }
  }

  # Lifecycle rules on noncurrent versions need versioning first.
  depends_on = [aws_s3_bucket_versioning.this]
}

# --- the trigger ----------------------------------------------------------------

resource "aws_lambda_permission" "s3_invoke" {
  statement_id  = "AllowInvokeFromUploadBucket"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.this.function_name
  principal     = "s3.amazonaws.com"
  # Only this bucket, in this account (a deleted bucket's name can be re-taken elsewhere).
  source_arn     = aws_s3_bucket.this["upload"].arn
  source_account = local.account_id
}

resource "aws_s3_bucket_notification" "upload" {
  bucket = aws_s3_bucket.this["upload"].id

  lambda_function {
    lambda_function_arn = aws_lambda_function.this.arn
    # Removed: a deleted upload's variants go too (and a delete marker's).
    events        = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]
    filter_prefix = var.upload_prefix == "" ? null : var.upload_prefix
  }

  # S3 checks that it may invoke the function when the notification is set.
  depends_on = [aws_lambda_permission.s3_invoke]
}
