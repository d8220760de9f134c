-- Scenario 3: add one unit of a varied sku to carts taken in turn from this thread's
-- slice, so no two requests in flight touch the same cart (no version contention).
-- Each add is validated and priced by the cart's order-type plugin.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local carts, next_cart
function init(args)
  math.randomseed(os.time() + 104729 * (tid or 0))
  carts = common.slice(common.data.carts)
  next_cart = math.random(#carts)
end

function add_request(cart)
  local body = string.format('{"sku":"%s","quantity":1}', common.sku_for(cart[3]))
  local headers = common.cart_headers(cart)
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/v1/carts/" .. cart[1] .. "/lines", headers, body)
end

function request()
  next_cart = next_cart % #carts + 1
  return add_request(carts[next_cart])
end
