"""The local S3-compatible server the storage tests run against (tests/conftest.py)."""

from dataclasses import dataclass
from typing import Any


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    access_key: str
    secret_key: str
    region: str
    client: Any = None  # a boto3 S3 client signed in to the server
    prefix: str = ""  # the current test's folder in the bucket

    def object_keys(self) -> list[str]:
        """Every object under the current test's prefix."""
        listing = self.client.list_objects_v2(Bucket=self.bucket, Prefix=f"{self.prefix}/")
        return [item["Key"] for item in listing.get("Contents", [])]

    def raw(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
