"""A SCIM 2.0 service provider (RFC 7643/7644) at ``/switchboard/scim/v2/``."""
