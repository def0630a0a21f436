"""The tenant console's forms: people, groups, API keys and one's own training opt-out. Each validates
with the REST API's input serializer and calls the same service, so page and API cannot disagree."""

import json

from rest_framework.exceptions import ValidationError

from core.pages import (
    console_action,
    done,
    posted,
    receipt_lines,
    refused,
    shown_once,
    validated,
)
from tenants.accounts import apis, oidc, oidc_apis, selectors, services
from tenants.accounts.permissions import tenant_admin, tenant_member

HOME = "/"


@console_action(may=tenant_admin, back=HOME + "#users")
def user_create(request):
    data = validated(apis.UserListApi.InputSerializer, posted(request, "username", "email", "password", "role"))
    user, password = services.user_create(**data, actor=request.user)
    if password is None:
        return done(request, f"{user.username} was created with the password you chose.", HOME + "#users")
    return shown_once(
        request,
        title=f"{user.username} was created",
        lines=[("Username", user.username), ("Role", user.role), ("Password", password)],
        note="Give this password to them now: it is shown only once and never stored in clear.",
    )


@console_action(may=tenant_admin, back=HOME + "#users")
def user_update(request, user_id):
    user = selectors.user_get(public_id=user_id)
    fields = validated(apis.UserDetailApi.InputSerializer, posted(request, "role", "is_active"))
    services.user_update(user=user, actor=request.user, **fields)
    return done(request, f"{user.username}: saved.", HOME + "#users")


@console_action(may=tenant_admin, back=HOME + "#users")
def user_erase(request, user_id):
    user = selectors.user_get(public_id=user_id)
    if request.POST.get("confirm", "") != user.username:
        return refused(request, f"Not erased: type {user.username} to confirm.", HOME + "#users")
    receipt = services.user_erase(user=user, actor=request.user)
    return shown_once(
        request,
        title=f"{user.username} was erased",
        lines=receipt_lines(receipt),
        note="This receipt is also in the audit log (user.erased).",
    )


@console_action(may=tenant_admin, back=HOME + "#groups")
def group_create(request):
    group = services.group_create(**validated(apis.GroupListApi.InputSerializer, request.POST), actor=request.user)
    return done(request, f"Group {group.name} was created.", HOME + "#groups")


@console_action(may=tenant_admin, back=HOME + "#groups")
def group_delete(request, group_id):
    group = selectors.group_get(public_id=group_id)
    services.group_delete(group=group, actor=request.user)
    return done(request, f"Group {group.name} was deleted.", HOME + "#groups")


@console_action(may=tenant_admin, back=HOME + "#groups")
def group_member_add(request, group_id):
    group = selectors.group_get(public_id=group_id)
    data = validated(apis.GroupMemberListApi.InputSerializer, request.POST)
    user = selectors.user_get(public_id=data["user_id"])
    services.group_member_add(group=group, user=user, actor=request.user)
    return done(request, f"{user.username} joined {group.name}.", HOME + "#groups")


@console_action(may=tenant_admin, back=HOME + "#groups")
def group_member_remove(request, group_id, user_id):
    group = selectors.group_get(public_id=group_id)
    user = selectors.user_get(public_id=user_id)
    services.group_member_remove(group=group, user=user, actor=request.user)
    return done(request, f"{user.username} left {group.name}.", HOME + "#groups")


@console_action(may=tenant_member, back=HOME + "#api-keys")
def api_key_create(request):
    fields = {"name": request.POST.get("name", "")}
    if request.POST.getlist("scopes"):
        fields["scopes"] = request.POST.getlist("scopes")
    if request.POST.get("expires_at"):
        fields["expires_at"] = request.POST["expires_at"]
    data = validated(apis.ApiKeyListApi.InputSerializer, fields)
    api_key, raw = services.api_key_create(user=request.user, actor=request.user, **data)
    return shown_once(
        request,
        title=f"API key {api_key.name} was created",
        lines=[
            ("Key", raw),
            ("Scopes", ", ".join(api_key.scopes)),
            ("Expires", api_key.expires_at.strftime("%Y-%m-%d %H:%M UTC") if api_key.expires_at else "never"),
        ],
        note="Copy the key now: it is shown only once. Send it as Authorization: Bearer <key>.",
    )


@console_action(may=tenant_member, back=HOME + "#api-keys")
def api_key_revoke(request, key_id):
    api_key = selectors.api_key_get_for_user(user=request.user, public_id=key_id)
    services.api_key_revoke(api_key=api_key, actor=request.user)
    return done(request, f"API key {api_key.name} was revoked.", HOME + "#api-keys")


@console_action(may=tenant_member, back=HOME + "#my-data")
def my_training_set(request):
    opt_out = request.POST.get("opt_out") == "true"
    services.training_opt_out_set(user=request.user, opt_out=opt_out)
    text = "Your conversations are left out of training exports." if opt_out else "Your opt-out was withdrawn."
    return done(request, text, HOME + "#my-data")


@console_action(may=tenant_admin, back=HOME + "#sign-in")
def identity_provider_save(request):
    fields = posted(request, "display_name", "issuer", "client_id", "scopes", "role_claim", "groups_claim")
    for name in ("role_map", "group_map"):
        try:
            fields[name] = json.loads(request.POST.get(name) or "{}")
        except json.JSONDecodeError as exc:
            raise ValidationError({name: [f"not JSON: {exc.msg}"]}) from exc
    fields["passwords_enabled"] = request.POST.get("passwords_enabled") == "on"
    data = dict(validated(oidc_apis.IdentityProviderApi.InputSerializer, fields))
    data.pop("client_secret", None)
    secret = request.POST.get("client_secret") or None  # empty: keep the stored secret
    oidc.provider_configure(tenant=request.tenant, actor=request.user, client_secret=secret, **data)
    return done(request, "Company sign-in saved.", HOME + "#sign-in")


@console_action(may=tenant_admin, back=HOME + "#sign-in")
def identity_provider_remove(request):
    oidc.provider_remove(actor=request.user)
    return done(request, "Company sign-in removed: people sign in with passwords.", HOME + "#sign-in")
