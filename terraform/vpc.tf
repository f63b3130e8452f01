# Optional network (enable_vpc): existing subnets and security groups, or a
# new VPC with two private subnets, no route to the internet, an S3 gateway
# endpoint for the data and an X-Ray interface endpoint for the traces.

locals {
  create_vpc = var.enable_vpc && length(var.subnet_ids) == 0

  subnet_ids         = local.create_vpc ? aws_subnet.private[*].id : var.subnet_ids
  security_group_ids = local.create_vpc ? [aws_security_group.function[0].id] : var.security_group_ids
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two zone names (sorted) are used, so a zone added later changes no subnet. (Local Zones, which this skip once hid, are filtered out below.)
  count = local.create_vpc ? 1 : 0
  state = "available"

  # Only the region's own zones: Local Zones and Wavelength Zones need an
  # opt-in, and Lambda does not run in them.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:The only interfaces in this VPC are Lambda's, with egress to S3 and X-Ray endpoints alone; turn on flow logs in the account's network baseline if required.
  count = local.create_vpc ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # the X-Ray endpoint's private DNS name
  tags                 = merge(local.tags, { Name = var.name })
}

# The default security group of a new VPC allows everything inside it: empty it.
resource "aws_default_security_group" "this" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${var.name}-default-unused" })
}

resource "aws_subnet" "private" {
  count = local.create_vpc ? 2 : 0

  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = cidrsubnet(var.vpc_cidr, 2, count.index)
  availability_zone       = data.aws_availability_zones.available[0].names[count.index]
  map_public_ip_on_launch = false
  tags                    = merge(local.tags, { Name = "${var.name}-private-${count.index}" })
}

resource "aws_route_table" "private" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id
  tags   = merge(local.tags, { Name = "${var.name}-private" })
}

resource "aws_route_table_association" "private" {
  count = local.create_vpc ? 2 : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[0].id
}

resource "aws_security_group" "function" {
  #checkov:skip=CKV2_AWS_5:Attached to the Lambda function's vpc_config (through local.security_group_ids, which checkov does not follow).
  count = local.create_vpc ? 1 : 0

  name        = "${var.name}-function"
  description = "imgflow function: no inbound, HTTPS out (S3 gateway endpoint, X-Ray endpoint)"
  vpc_id      = aws_vpc.this[0].id

  egress {
    description = "HTTPS to S3 and X-Ray; the subnets have no other route out"
    protocol    = "tcp"
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = merge(local.tags, { Name = "${var.name}-function" })
}

data "aws_iam_policy_document" "s3_endpoint" {
  count = local.create_vpc ? 1 : 0

  statement {
    sid     = "OnlyThisStacksBuckets"
    actions = ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket", "s3:PutObject", "s3:DeleteObject"]
    resources = flatten([
      for b in aws_s3_bucket.this : [b.arn, "${b.arn}/*"]
    ])
    # Only the function's role may use the endpoint (its own policy decides what).
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.function.arn]
    }
  }
}

resource "aws_vpc_endpoint" "s3" {
  count = local.create_vpc ? 1 : 0

  vpc_id            = aws_vpc.this[0].id
  service_name      = "com.amazonaws.${local.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private[0].id]
  policy            = data.aws_iam_policy_document.s3_endpoint[0].json
  tags              = merge(local.tags, { Name = "${var.name}-s3" })
}

resource "aws_security_group" "xray_endpoint" {
  #checkov:skip=CKV2_AWS_5:Attached to aws_vpc_endpoint.xray (created with it, same count).
  count = local.create_vpc && var.vpc_xray_endpoint ? 1 : 0

  name        = "${var.name}-xray-endpoint"
  description = "X-Ray interface endpoint: HTTPS from the imgflow function only"
  vpc_id      = aws_vpc.this[0].id

  ingress {
    description     = "HTTPS from the function"
    protocol        = "tcp"
    from_port       = 443
    to_port         = 443
    security_groups = [aws_security_group.function[0].id]
  }

  tags = merge(local.tags, { Name = "${var.name}-xray-endpoint" })
}

resource "aws_vpc_endpoint" "xray" {
  count = local.create_vpc && var.vpc_xray_endpoint ? 1 : 0

  vpc_id              = aws_vpc.this[0].id
  service_name        = "com.amazonaws.${local.region}.xray"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.xray_endpoint[0].id]
  private_dns_enabled = true
  tags                = merge(local.tags, { Name = "${var.name}-xray" })
}
