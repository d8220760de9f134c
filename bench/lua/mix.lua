-- Scenario 4: a storefront's 100:1 read:write mix: 100 GETs of random carts for every add
-- (the add goes to the next cart in turn, as in scenario 3).
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local carts, next_cart
local n = 0
function init(args)
  math.randomseed(os.time() + 15485863 * (tid or 0))
  carts = common.slice(common.data.carts)
  next_cart = math.random(#carts)
end

function request()
  n = n + 1
  if n % 101 == 0 then
    next_cart = next_cart % #carts + 1
    local cart = carts[next_cart]
    local body = string.format('{"sku":"%s","quantity":1}', common.sku_for(cart[3]))
    local headers = common.cart_headers(cart)
    headers["Content-Type"] = "application/json"
    return wrk.format("POST", "/v1/carts/" .. cart[1] .. "/lines", headers, body)
  end
  local cart = carts[math.random(#carts)]
  return wrk.format("GET", "/v1/carts/" .. cart[1], common.cart_headers(cart))
end
