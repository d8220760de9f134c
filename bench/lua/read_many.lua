-- Scenario 2: GET carts at random across every seeded cart (10,000 by default).
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local carts
function init(args)
  math.randomseed(os.time() + 7919 * (tid or 0))
  carts = common.slice(common.data.carts)
end

function request()
  local cart = carts[math.random(#carts)]
  return wrk.format("GET", "/v1/carts/" .. cart[1], common.cart_headers(cart))
end
