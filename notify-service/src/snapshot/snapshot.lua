-- snapshot.lua: an event's live stock and window, as coupon-service keeps
-- them (key names: contract/src/redis_keys.rs), with Redis' clock (the one the
-- reserve script judges the window by).
--
-- KEYS[1] <prefix>event:{<id>}:info   KEYS[2] <prefix>event:{<id>}:stock
-- Returns {} when the event is not loaded, else
-- {start_ms, end_ms, closed, remaining or "", now_ms} (strings).

local info = redis.call('HMGET', KEYS[1], 'start_ms', 'end_ms', 'closed')
if not info[1] then
  return {}
end
local stock = redis.call('GET', KEYS[2])
local t = redis.call('TIME')
local now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return {info[1], info[2] or '0', info[3] or '0', stock or '', string.format('%d', now_ms)}
