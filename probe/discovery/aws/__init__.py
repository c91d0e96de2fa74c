"""AWS discovery: ELB, API Gateway, CloudFront endpoints and ACM/KMS posture, read-only."""

from probe.discovery.aws.provider import AwsProvider

__all__ = ["AwsProvider"]
