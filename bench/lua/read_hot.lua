-- Scenario 1: GET the same 5-line cart over and over (the cart cache's hot path).
-- The request never changes, so it is static: wrk builds it once.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

function init(args)
  local hot = common.data.hot[1]
  wrk.method = "GET"
  wrk.path = "/v1/carts/" .. hot[1]
  -- Into wrk.headers, not replacing it: it already holds the Host header.
  for name, value in pairs(common.cart_headers(hot)) do
    wrk.headers[name] = value
  end
end
