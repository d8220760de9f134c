-- Scenario 5: checkout start + complete across many skus. Each seeded checkout cart
-- (1-3 grocery lines, every sku stock-tracked) is checked out once: the start reserves its
-- stock and answers 201 with a `Location: /v1/checkouts/{id}`; response() queues that
-- checkout, and the next request of the thread completes it (with an Idempotency-Key),
-- committing the stock and writing the order. So the requests alternate start/complete.
-- A thread that has used all its carts sends a request that fails on purpose (counted as
-- `exhausted`): seed more with BENCH_CHECKOUT_CARTS.
local common = dofile((os.getenv("BENCH_LUA_DIR") or "bench/lua") .. "/common.lua")

local carts, tokens
local next_cart = 0
local pending, head = {}, 1
local n = 0
exhausted = 0

function init(args)
  carts = common.slice(common.data.checkout)
  tokens = {}
  for _, c in ipairs(carts) do tokens[c[1]] = c[2] end
end

function request()
  if head <= #pending then
    local p = pending[head]
    pending[head] = nil
    head = head + 1
    n = n + 1
    return wrk.format("POST", "/v1/checkouts/" .. p[1] .. "/complete", {
      ["X-Api-Key"] = common.data.storefront_key,
      ["X-Cart-Token"] = p[2],
      ["Idempotency-Key"] = string.format("bench-%d-%d-%d", tid or 0, os.time(), n),
    })
  end
  next_cart = next_cart + 1
  local cart = carts[next_cart]
  if cart == nil then
    exhausted = exhausted + 1
    return wrk.format("GET", "/v1/bench-ran-out-of-checkout-carts")
  end
  return wrk.format("POST", "/v1/carts/" .. cart[1] .. "/checkout", common.cart_headers(cart))
end

function response(status, headers, body)
  common.record(status, body)
  if status ~= 201 then return end
  local location = headers["Location"] or headers["location"]
  if location and string.sub(location, 1, 14) == "/v1/checkouts/" then
    local cart_id = string.match(body, '"cart_id":"([^"]+)"')
    pending[#pending + 1] = {string.sub(location, 15), tokens[cart_id]}
  end
end
