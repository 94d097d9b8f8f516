"""The oversight tests reuse the market's world (李家 co-holding a contract, 赵家 buying)."""

from tests.market.conftest import buyers, family  # noqa: F401
