# Terraform and provider versions the stack is tested with (tests: AWS provider 5.100.0).
terraform {
  # 1.9: variable validations may refer to other variables.
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 has aws_lambda_function_recursion_config and Lambda's logging_config.
      version = ">= 5.100, < 6.0"
    }
  }
}
