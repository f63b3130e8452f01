# The function in a new private VPC (two subnets, S3 gateway and X-Ray endpoints,
# no NAT), triggered only by keys under uploads/, built for x86_64.
# Tested: tests/terraform applies this file to moto.
#   terraform -chdir=terraform apply -var-file=examples/vpc.tfvars
#   (scripts/deploy.sh -var-file=examples/vpc.tfvars builds the x86_64 package first;
#   a plain apply after an arm64 build would deploy the wrong binary)

enable_vpc    = true
upload_prefix = "uploads/"
architecture  = "x86_64"
