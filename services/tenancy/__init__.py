"""Tenancy: municipalities as tenants, the tenant scope and its enforcement."""

from services.tenancy.orm import TenantOwned, TenantSession, is_tenant_model
from services.tenancy.scope import (
    TenantScope,
    TenantScopeMissing,
    TenantScopeViolation,
    clear_scope,
    current_scope,
    scope_or_none,
    tenant_scope,
)

__all__ = [
    "TenantOwned",
    "TenantScope",
    "TenantScopeMissing",
    "TenantScopeViolation",
    "TenantSession",
    "clear_scope",
    "current_scope",
    "is_tenant_model",
    "scope_or_none",
    "tenant_scope",
]
