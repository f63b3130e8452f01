# The one AWS provider of the stack: every resource goes to aws_region, and
# carries these tags besides var.tags.

provider "aws" {
  region = var.aws_region

  default_tags {
    tags = {
      Project   = "imgflow"
      ManagedBy = "terraform"
    }
  }
}
