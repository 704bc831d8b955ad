-- deliver_event.lua: fans out one message to every instance: event-wide
-- ones, and revocations (session.revoked).
--
-- KEYS[1] (optional) the message id's seen-marker: when given, a message id
-- already fanned out is dropped (coupon.soldout, event.updated,
-- session.revoked). event.stock passes none:
-- a repeated stock count is harmless and markers at ~10/s/event are not.
-- ARGV[1] seen-marker TTL (s)   ARGV[2] pub/sub channel, or "" on a
-- cluster (the caller SPUBLISHes)   ARGV[3] payload
-- Returns 1 when published, 0 for a redelivery.

if #KEYS > 0 and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return 0
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return 1
