# Inputs of the stack, each defined here and nowhere else. Every one has a
# description, a type and a validation; the defaults are the product's
# (docs/design.md) and secure. docs/configuration.md's table is generated from this
# file (scripts/terraform-inputs.py --write).

variable "aws_region" {
  description = "AWS region to deploy to."
  type        = string
  default     = "eu-west-1"

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be a region name such as eu-west-1."
  }
}

# --- naming -------------------------------------------------------------------

variable "name" {
  description = "Name of the stack: the function is called this, and every other resource name starts with it."
  type        = string
  default     = "imgflow"

  validation {
    # Short enough that "<name>-processed-<account>-<region>" fits S3's 63 characters.
    condition     = can(regex("^[a-z][a-z0-9-]{1,22}[a-z0-9]$", var.name))
    error_message = "name must be 3-24 characters of lower-case letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags. Keys: 1-128 characters, not starting with `aws:`; values: at most 256; both only letters, digits, spaces and _ . : / = + - @ (AWS refuses others)."
  type        = map(string)
  default     = {}

  validation {
    # AWS's pattern for tag keys and values: ^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$
    condition     = alltrue([for k in keys(var.tags) : length(k) >= 1 && length(k) <= 128 && can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]+$", k))])
    error_message = "tag keys must be 1-128 characters of letters, digits, spaces and _ . : / = + - @."
  }

  validation {
    condition     = alltrue([for k in keys(var.tags) : !startswith(lower(k), "aws:")])
    error_message = "tag keys must not start with \"aws:\" (reserved for AWS)."
  }

  validation {
    condition     = alltrue([for v in values(var.tags) : length(v) <= 256 && can(regex("^[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*$", v))])
    error_message = "tag values must be at most 256 characters of letters, digits, spaces and _ . : / = + - @."
  }
}

# --- buckets --------------------------------------------------------------------

variable "upload_bucket_name" {
  description = "Name of the bucket images are uploaded to. Default (null): \"<name>-uploads-<account id>-<region>\"."
  type        = string
  default     = null

  validation {
    condition     = var.upload_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.upload_bucket_name))
    error_message = "upload_bucket_name must be 3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }

  validation {
    condition     = var.upload_bucket_name == null || !strcontains(coalesce(var.upload_bucket_name, "-"), "..")
    error_message = "upload_bucket_name must not contain two adjacent dots."
  }

  validation {
    condition     = var.upload_bucket_name == null || !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.upload_bucket_name))
    error_message = "upload_bucket_name must not be formatted as an IP address."
  }

  validation {
    # Prefixes and suffixes S3 reserves (punycode, access point and other aliases, directory and table buckets).
    condition = var.upload_bucket_name == null || (
      !anytrue([for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(coalesce(var.upload_bucket_name, "-"), p)]) &&
      !anytrue([for x in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(coalesce(var.upload_bucket_name, "-"), x)])
    )
    error_message = "upload_bucket_name must not start with xn--, sthree- or amzn-s3-demo-, nor end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 (reserved by S3)."
  }
}

variable "processed_bucket_name" {
  description = "Name of the bucket the five variants are written to. Default (null): \"<name>-processed-<account id>-<region>\". Must differ from the upload bucket."
  type        = string
  default     = null

  validation {
    condition     = var.processed_bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.processed_bucket_name))
    error_message = "processed_bucket_name must be 3-63 characters of lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit."
  }

  validation {
    condition     = var.processed_bucket_name == null || !strcontains(coalesce(var.processed_bucket_name, "-"), "..")
    error_message = "processed_bucket_name must not contain two adjacent dots."
  }

  validation {
    condition     = var.processed_bucket_name == null || !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.processed_bucket_name))
    error_message = "processed_bucket_name must not be formatted as an IP address."
  }

  validation {
    # Prefixes and suffixes S3 reserves (punycode, access point and other aliases, directory and table buckets).
    condition = var.processed_bucket_name == null || (
      !anytrue([for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(coalesce(var.processed_bucket_name, "-"), p)]) &&
      !anytrue([for x in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(coalesce(var.processed_bucket_name, "-"), x)])
    )
    error_message = "processed_bucket_name must not start with xn--, sthree- or amzn-s3-demo-, nor end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 (reserved by S3)."
  }
  # That it differs from the upload bucket is a precondition of the buckets
  # (s3.tf), which sees the default names too. (A validation naming another
  # variable is skipped when that one is invalid, hiding this one's errors.)
}

variable "upload_prefix" {
  description = "Only uploads whose key starts with this prefix trigger the function (e.g. \"uploads/\"). Empty: every key."
  type        = string
  default     = ""

  validation {
    condition     = length(var.upload_prefix) <= 1024 && !startswith(var.upload_prefix, "/")
    error_message = "upload_prefix must be at most 1024 characters and must not start with \"/\" (S3 keys have no leading slash)."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets even when they hold objects (all versions). Keep false in production; scripts/destroy.sh empties the buckets itself."
  type        = bool
  default     = false

  validation {
    condition     = var.force_destroy != null
    error_message = "force_destroy must be true or false."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which an overwritten or deleted object version is removed from both buckets."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number from 1 to 3650."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  description = "Days after which the parts of an unfinished multipart upload are removed."
  type        = number
  default     = 7

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && var.abort_incomplete_multipart_upload_days <= 365 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number from 1 to 365."
  }
}

# --- encryption -------------------------------------------------------------------

variable "enable_kms" {
  description = "Encrypt the buckets (with S3 Bucket Keys), the failed-events queue, the log group and the function's environment with a customer-managed KMS key instead of AWS-owned keys (AES-256 / SQS-managed SSE)."
  type        = bool
  default     = false

  validation {
    condition     = var.enable_kms != null
    error_message = "enable_kms must be true or false."
  }
}

variable "kms_key_arn" {
  description = "With enable_kms: an existing KMS key to use, in the stack's region (KMS keys are regional). Its key policy must let CloudWatch Logs (logs.<region>.amazonaws.com) use it for the log group. Default (null): the stack creates a key with yearly rotation."
  type        = string
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
  # Its region is checked against the stack's by a precondition (sqs.tf): the
  # region is known only from the provider, not in a validation.

  validation {
    condition     = var.kms_key_arn == null || var.enable_kms
    error_message = "kms_key_arn is only used with enable_kms = true."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a KMS key created by the stack is deleted after `terraform destroy`."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number from 7 to 30."
  }
}

# --- function -------------------------------------------------------------------------

variable "lambda_zip_path" {
  description = "Path of the deployment package: a .zip holding the `bootstrap` executable. The default is where scripts/deploy.sh (cargo lambda) puts it, relative to terraform/, so that `terraform -chdir=terraform apply` works after a deploy."
  type        = string
  default     = "../target/lambda/bootstrap/bootstrap.zip"

  validation {
    condition     = endswith(lower(var.lambda_zip_path), ".zip")
    error_message = "lambda_zip_path must be the path of a .zip file."
  }
}

variable "architecture" {
  description = "Instruction set of the function: arm64 (Graviton, cheaper per GB-second) or x86_64. scripts/deploy.sh builds the binary for it."
  type        = string
  default     = "arm64"

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be \"arm64\" or \"x86_64\"."
  }
}

variable "memory_size" {
  description = "Memory of the function in MB. CPU grows with it: from 1769 MB the function gets a second vCPU, which encodes the variants of an image side by side. 2048 MB processes every upload up to max_input_pixels (100 MP 8-bit RGBA PNG or JPEG; 16-bit ones take twice the memory); 1024 MB about 80 MP RGBA PNGs and every JPEG (`imgflow capacity` prints the table). Larger uploads are refused as too_large_for_memory, never run out of memory."
  type        = number
  default     = 2048

  validation {
    condition     = var.memory_size >= 256 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB from 256 to 10240."
  }
}

variable "timeout" {
  description = "Maximum run time of one invocation, in seconds. The function stops DEADLINE_MARGIN_MS before it and fails cleanly so that Lambda retries. The default leaves room for the largest image admitted: a detailed 100 MP photo takes about 85 s on one core."
  type        = number
  default     = 300

  validation {
    condition     = var.timeout >= 5 && var.timeout <= 900 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds from 5 to 900."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrent executions: a ceiling on the invocations that run at once, which the account also sets aside for this function. Default (null): unreserved, the function shares the account's pool. Set it to protect what the function writes to (or other functions from it); Lambda refuses any value that leaves fewer than 100 executions unreserved in the account, so a new account (a limit of 10 or 50) needs a quota increase first."
  type        = number
  default     = null

  validation {
    # 900: the default account limit (1000) less the 100 Lambda keeps unreserved.
    condition     = var.reserved_concurrency == null || try(var.reserved_concurrency >= 1 && var.reserved_concurrency <= 900 && floor(var.reserved_concurrency) == var.reserved_concurrency, false)
    error_message = "reserved_concurrency must be null (unreserved) or a whole number from 1 to 900: Lambda keeps 100 executions of the account unreserved, and the default account limit is 1000."
  }
}

variable "max_retry_attempts" {
  description = "How many times Lambda retries a failed asynchronous invocation (S3 events are asynchronous) before the event goes to the failed-events queue."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 1, 2], var.max_retry_attempts)
    error_message = "max_retry_attempts must be 0, 1 or 2."
  }
}

variable "max_event_age_seconds" {
  description = "How long Lambda keeps an event it could not yet run (throttled or being retried) before it goes to the failed-events queue."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_event_age_seconds >= 60 && var.max_event_age_seconds <= 21600 && floor(var.max_event_age_seconds) == var.max_event_age_seconds
    error_message = "max_event_age_seconds must be a whole number from 60 to 21600."
  }
}

variable "log_level" {
  description = "Application log level (Lambda's application_log_level, read by the function as AWS_LAMBDA_LOG_LEVEL): TRACE, DEBUG or INFO. Quieter levels are refused: the EMF metric lines carry no level, Lambda files them as INFO, so WARN or ERROR would drop every metric and blind the alarms."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["TRACE", "DEBUG", "INFO"], var.log_level)
    error_message = "log_level must be TRACE, DEBUG or INFO (WARN and above would filter out the EMF metrics, see runbooks/log-level.md)."
  }
}

variable "system_log_level" {
  description = "Level of the platform's own log lines (START, END, REPORT): DEBUG, INFO or WARN."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARN"], var.system_log_level)
    error_message = "system_log_level must be DEBUG, INFO or WARN."
  }
}

variable "log_retention_days" {
  description = "Days the function's logs (and so its EMF records and error lines) are kept in CloudWatch Logs."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of CloudWatch Logs' values: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

# --- what the function makes (its environment; same rules as src/config/) -----

variable "variants" {
  description = "VARIANTS: \"all\" or a comma-separated list of compressed, low, webp, png, thumbnail."
  type        = string
  default     = "all"

  validation {
    condition = lower(trimspace(var.variants)) == "all" || (
      length(split(",", var.variants)) == length(distinct([for v in split(",", var.variants) : lower(trimspace(v))])) &&
      alltrue([for v in split(",", var.variants) : contains(["compressed", "low", "webp", "png", "thumbnail"], lower(trimspace(v)))])
    )
    error_message = "variants must be \"all\" or a comma-separated list, without repeats, of compressed, low, webp, png, thumbnail."
  }
}

variable "jpeg_quality" {
  description = "JPEG_QUALITY: quality of the compressed and thumbnail JPEGs, 1-100."
  type        = number
  default     = 85

  validation {
    condition     = var.jpeg_quality >= 1 && var.jpeg_quality <= 100 && floor(var.jpeg_quality) == var.jpeg_quality
    error_message = "jpeg_quality must be a whole number from 1 to 100."
  }
}

variable "low_quality" {
  description = "LOW_QUALITY: quality of the low JPEG, 1-100."
  type        = number
  default     = 60

  validation {
    condition     = var.low_quality >= 1 && var.low_quality <= 100 && floor(var.low_quality) == var.low_quality
    error_message = "low_quality must be a whole number from 1 to 100."
  }
}

variable "webp_quality" {
  description = "WEBP_QUALITY: quality of the lossy WebP, 1-100."
  type        = number
  default     = 85

  validation {
    condition     = var.webp_quality >= 1 && var.webp_quality <= 100 && floor(var.webp_quality) == var.webp_quality
    error_message = "webp_quality must be a whole number from 1 to 100."
  }
}

variable "thumbnail_size" {
  description = "THUMBNAIL_SIZE: the box the thumbnail fits in, WIDTHxHEIGHT, 1-16383 each."
  type        = string
  default     = "200x200"

  validation {
    condition = (
      can(regex("^[0-9]{1,5}[xX][0-9]{1,5}$", var.thumbnail_size)) &&
      alltrue([for n in split("x", lower(var.thumbnail_size)) : tonumber(n) >= 1 && tonumber(n) <= 16383])
    )
    error_message = "thumbnail_size must be WIDTHxHEIGHT with each side from 1 to 16383, e.g. \"200x200\"."
  }
}

variable "max_input_pixels" {
  description = "MAX_INPUT_PIXELS: width x height limit, checked from the image header before any pixel is allocated. The default matches the default memory_size: `imgflow capacity` gives the largest image each memory size processes (an upload over the memory is refused as too_large_for_memory anyway)."
  type        = number
  default     = 100000000

  validation {
    condition     = var.max_input_pixels >= 1 && floor(var.max_input_pixels) == var.max_input_pixels
    error_message = "max_input_pixels must be a positive whole number."
  }
}

variable "max_input_bytes" {
  description = "MAX_INPUT_BYTES: largest upload processed, in bytes, checked before the object is read."
  type        = number
  default     = 104857600

  validation {
    condition     = var.max_input_bytes >= 1 && floor(var.max_input_bytes) == var.max_input_bytes
    error_message = "max_input_bytes must be a positive whole number."
  }
}

variable "record_concurrency" {
  description = "RECORD_CONCURRENCY: records of one S3 event processed at the same time, 1-64."
  type        = number
  default     = 2

  validation {
    condition     = var.record_concurrency >= 1 && var.record_concurrency <= 64 && floor(var.record_concurrency) == var.record_concurrency
    error_message = "record_concurrency must be a whole number from 1 to 64."
  }
}

variable "deadline_margin_ms" {
  description = "DEADLINE_MARGIN_MS: the function stops this long before the invocation deadline and fails cleanly, 1-60000 ms. Must be well under the timeout."
  type        = number
  default     = 1500

  validation {
    condition     = var.deadline_margin_ms >= 1 && var.deadline_margin_ms <= 60000 && floor(var.deadline_margin_ms) == var.deadline_margin_ms
    error_message = "deadline_margin_ms must be a whole number from 1 to 60000."
  }

  validation {
    condition     = var.deadline_margin_ms < var.timeout * 1000 / 2
    error_message = "deadline_margin_ms must be less than half of the timeout, or no work would fit in an invocation."
  }
}

variable "cache_control" {
  description = "CACHE_CONTROL of the variants. The keys are content-addressed, so by default variants are cached for a year."
  type        = string
  default     = "public, max-age=31536000, immutable"

  validation {
    condition     = length(trimspace(var.cache_control)) > 0 && length(var.cache_control) <= 256
    error_message = "cache_control must be a non-empty header value of at most 256 characters."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the function's EMF metrics (METRICS_NAMESPACE); the dashboard and the alarms read the same one."
  type        = string
  default     = "ImageProcessor"

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]{1,255}$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be 1-255 characters of letters, digits and . _ / # : - and must not start with \"AWS/\"."
  }
}

variable "service_name" {
  description = "Value of the `service` dimension on every metric (POWERTOOLS_SERVICE_NAME); the dashboard and alarms select it. CloudWatch drops metrics whose dimension value is not 1-255 printable ASCII characters with at least one that is not a space."
  type        = string
  default     = "imgflow"

  validation {
    # A CloudWatch dimension value: ASCII, no control characters, not blank.
    # CloudWatch Logs drops an EMF record it cannot publish, without an error.
    condition     = can(regex("^[\\x20-\\x7E]{1,255}$", var.service_name)) && trimspace(var.service_name) != ""
    error_message = "service_name must be 1-255 printable ASCII characters, not only spaces (a CloudWatch dimension value; CloudWatch drops metrics with any other)."
  }
}

# --- network ------------------------------------------------------------------------

variable "enable_vpc" {
  description = "Run the function in a VPC: in the subnets given by subnet_ids / security_group_ids, or, when those are empty, in a new VPC with two private subnets, an egress-only security group and an S3 gateway endpoint (no NAT: the function reaches only S3, and X-Ray through an interface endpoint)."
  type        = bool
  default     = false

  validation {
    condition     = var.enable_vpc != null
    error_message = "enable_vpc must be true or false."
  }
}

variable "vpc_cidr" {
  description = "With enable_vpc and no subnet_ids: address range of the new VPC; the two private subnets take its first two quarters."
  type        = string
  default     = "10.42.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR block from /16 to /24, e.g. \"10.42.0.0/16\"."
  }
}

variable "vpc_xray_endpoint" {
  description = "With enable_vpc and no subnet_ids: create an X-Ray interface endpoint so that traces leave a VPC without NAT (about 0.01 USD per hour per AZ)."
  type        = bool
  default     = true

  validation {
    condition     = var.vpc_xray_endpoint != null
    error_message = "vpc_xray_endpoint must be true or false."
  }
}

variable "subnet_ids" {
  description = "With enable_vpc: existing subnets for the function (at least two AZs recommended). They need a route to S3 (gateway endpoint or NAT). Empty: a new VPC is created."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]+$", s))])
    error_message = "subnet_ids must be subnet IDs (subnet-...)."
  }

  validation {
    condition     = length(var.subnet_ids) == 0 || var.enable_vpc
    error_message = "subnet_ids are only used with enable_vpc = true."
  }
}

variable "security_group_ids" {
  description = "With enable_vpc and subnet_ids: existing security groups for the function. Required when subnet_ids is set."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.security_group_ids : can(regex("^sg-[0-9a-f]+$", s))])
    error_message = "security_group_ids must be security group IDs (sg-...)."
  }

  validation {
    condition     = (length(var.subnet_ids) == 0) == (length(var.security_group_ids) == 0)
    error_message = "subnet_ids and security_group_ids go together: give both or neither."
  }
}

# --- operations -------------------------------------------------------------------------

variable "alarm_email" {
  description = "E-mail address subscribed to the alarm topic (AWS sends a confirmation mail first). Null: no subscription; subscribe a pager yourself to the alarm_topic_arn output."
  type        = string
  default     = null

  validation {
    condition     = var.alarm_email == null || can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", var.alarm_email))
    error_message = "alarm_email must be an e-mail address."
  }
}

variable "runbook_base_url" {
  description = "Where the runbooks are read: each alarm's description ends with \"Runbook: <runbook_base_url>/<alarm>.md\". A path in the repository by default; set it to the runbooks folder's web address (e.g. on your Git host)."
  type        = string
  default     = "runbooks"

  validation {
    condition     = length(var.runbook_base_url) > 0 && !endswith(var.runbook_base_url, "/")
    error_message = "runbook_base_url must be non-empty and must not end with \"/\"."
  }
}

variable "alarms_dir" {
  description = "Folder of the alarm definitions (one <alarm>.json template each). Null: the repository's alarms/ folder."
  type        = string
  default     = null

  validation {
    condition     = var.alarms_dir == null || length(fileset(coalesce(var.alarms_dir, "."), "*.json")) > 0
    error_message = "alarms_dir must be a folder holding at least one <alarm>.json file."
  }
}

variable "dashboard_template" {
  description = "Path of the dashboard body template. Null: the repository's dashboards/imgflow.json.tftpl."
  type        = string
  default     = null

  validation {
    condition     = var.dashboard_template == null || endswith(coalesce(var.dashboard_template, "x"), ".tftpl")
    error_message = "dashboard_template must be the path of a .tftpl file."
  }
}
