"""Who the caller is, their presence, and tokens for scripts."""

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from administration import logins, policy, presence
from administration.models import PRESENCE_CHOICES


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenView(APIView):
    """``{"username", "password"}`` -> ``{"token"}`` for ``Authorization: Token <token>``."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(request=TokenRequestSerializer, responses={200: dict})
    def post(self, request: Request) -> Response:
        body = TokenRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # The Django request: django-axes counts the failure on it and its middleware answers a lockout.
        user = authenticate(request._request, **body.validated_data)
        if user is None:
            return Response({"detail": "Wrong user name or password."}, status=status.HTTP_400_BAD_REQUEST)
        logins.login_succeeded(request._request, user)
        return Response({"token": logins.token_for(user).key})

    @extend_schema(request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        """Revokes the caller's token (every socket it opened closes)."""
        auth = logins.ExpiringTokenAuthentication().authenticate(request)
        if auth is None:
            return Response({"detail": "Send the token to revoke in the Authorization header."},
                            status=status.HTTP_401_UNAUTHORIZED)
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
        "workgroups": sorted(principal.workgroups),
        "roles": sorted(principal.roles),
        "is_admin": user.is_superuser,
        "presence": {"status": user.presence, "since": user.presence_since},
    }


class MeView(APIView):
    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        return Response(me(request.user))


class PresenceSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=PRESENCE_CHOICES)


class PresenceView(APIView):
    @extend_schema(request=PresenceSerializer, responses={200: dict})
    def put(self, request: Request) -> Response:
        body = PresenceSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Routes in the same transaction: Available may bring offers, anything else takes them back.
        user = presence.set_presence(request.user, body.validated_data["status"])
        return Response(me(user))
