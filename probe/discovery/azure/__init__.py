"""Azure discovery: Application Gateway, Front Door, API Management endpoints and Key Vault posture, read-only.

The Azure SDK (the `azure` extra) is imported only inside this package."""

from probe.discovery.azure.provider import AzureProvider

__all__ = ["AzureProvider"]
