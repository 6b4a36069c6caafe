"""POST /api/v1/auth/token: a bearer token for a username and password."""
from __future__ import annotations

from flask_smorest import Blueprint

from processes.org import access
from processes.org import service as org

from ..auth import issue_token, session_clock
from ..context import db, guichet
from ..errors import error_response
from .schemas import TokenRequestSchema, TokenSchema

blp = Blueprint("api_auth", __name__, url_prefix="/api/v1/auth", description="登录 · Authentication")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema())
@blp.response(200, TokenSchema)
def token(body):
    """Exchange a username and password for a bearer token."""
    services = guichet()
    user = access.sign_in(db(), body["username"], body["password"], ph=org.hasher(services.config),
                          limits=access.Limits.of(services.config), now=session_clock())
    if user is None:
        db().commit()  # the failure counts although the answer is 401 (which rolls back)
        return error_response(401, "bad_credentials", "用户名或密码错误")
    return {"token": issue_token(user), "expires_in": services.config["security"]["token_ttl_seconds"]}
