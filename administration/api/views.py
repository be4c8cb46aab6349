"""Who the caller is, their presence, and tokens for scripts."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from administration import logins, policy, presence
from administration.models import LICENSE_CHOICES, PRESENCE_CHOICES, RIGHTS
from ipa_portal.errors import problem
from ipa_portal.fields import StrictCharField
from ipa_portal.openapi import refusals


class TokenRequestSerializer(serializers.Serializer):
    username = StrictCharField()
    password = StrictCharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`.")


class TokenView(APIView):
    """``{"username", "password"}`` -> ``{"token"}`` for ``Authorization: Token <token>``."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        operation_id="create_token",
        request=TokenRequestSerializer,
        responses={200: TokenSerializer, **refusals(400, 429)},
    )
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The Django request: django-axes counts the failure on it and its middleware answers a lockout.
        user = authenticate(request._request, **body.validated_data)
        if user is None:
            return problem(400, "Wrong user name or password.")
        logins.login_succeeded(request._request, user)
        return Response({"token": logins.token_for(user).key})

    @extend_schema(operation_id="revoke_token", request=None, responses={204: None, **refusals(401)})
    def delete(self, request: Request) -> Response:
        """Revokes the caller's token (every socket it opened closes)."""
        try:
            auth = logins.ExpiringTokenAuthentication().authenticate(request)
        except AuthenticationFailed:  # revoked already, expired, or never issued
            auth = None
        if auth is None:
            return problem(401, "Send the token to revoke in the Authorization header.")
        logins.revoke_tokens(auth[0])
        return Response(status=status.HTTP_204_NO_CONTENT)


def me(user) -> dict:
    principal = policy.principal_for(user)
    return {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "license": user.license or None,
        "rights": sorted(principal.rights),
        "scoped_rights": policy.scoped_rights(user),
        "workgroups": sorted(principal.workgroups),
        "roles": sorted(principal.roles),
        "is_admin": user.is_superuser,
        "presence": {"status": user.presence, "since": user.presence_since},
    }


class PresenceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PRESENCE_CHOICES)


class PresenceStateSerializer(PresenceSerializer):
    since = serializers.DateTimeField(allow_null=True)


RIGHT_CHOICES = [(right, right.capitalize()) for right in RIGHTS]  # one enum in the schema (settings)


class ScopedRightSerializer(serializers.Serializer):
    right = serializers.ChoiceField(choices=RIGHT_CHOICES)
    processes = serializers.ListField(child=serializers.CharField())
    categories = serializers.ListField(child=serializers.CharField())


class MeSerializer(serializers.Serializer):
    """The answer of ``GET /api/me/`` and ``PUT /api/me/presence``."""

    username = serializers.CharField()
    first_name = serializers.CharField(allow_blank=True)
    last_name = serializers.CharField(allow_blank=True)
    email = serializers.CharField(allow_blank=True)
    license = serializers.ChoiceField(choices=LICENSE_CHOICES, allow_null=True)
    rights = serializers.ListField(child=serializers.ChoiceField(choices=RIGHT_CHOICES),
                                   help_text="The rights held for all processes.")
    scoped_rights = ScopedRightSerializer(many=True,
                                          help_text="The rights held for named processes or categories only.")
    workgroups = serializers.ListField(child=serializers.CharField())
    roles = serializers.ListField(child=serializers.CharField())
    is_admin = serializers.BooleanField()
    presence = PresenceStateSerializer()


class MeView(APIView):
    @extend_schema(
        operation_id="get_me",
        responses={200: MeSerializer},
    )
    def get(self, request: Request) -> Response:
        return Response(me(request.user))


class PresenceView(APIView):
    @extend_schema(
        operation_id="set_presence",
        request=PresenceSerializer,
        responses={200: MeSerializer, **refusals(400)},
    )
    def put(self, request: Request) -> Response:
        body = PresenceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Routes in the same transaction: Available may bring offers, anything else takes them back.
        user = presence.set_presence(request.user, body.validated_data["status"])
        return Response(me(user))
