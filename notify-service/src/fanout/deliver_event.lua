-- deliver_event.lua: fans out one message to every instance: event-wide
-- ones, and revocations (session.revoked).
--
-- KEYS[1] (optional) the message id's seen-marker: when given, a message id
-- already fanned out is reported (coupon.soldout, event.updated,
-- session.revoked). event.stock passes none:
-- a repeated stock count is harmless and markers at ~10/s/event are not.
-- ARGV[1] seen-marker TTL (s)   ARGV[2] pub/sub channel, or "" on a
-- cluster (the caller SPUBLISHes)   ARGV[3] payload
-- Returns 1 for a first fan-out, 0 for a re-run (a redelivery, or a retry of
-- a call whose reply was lost). Both publish: whether the first run's
-- publication went out is unknown (on a cluster it is a separate call).
-- Receiving instances drop an event message id they have delivered; a
-- revocation applied twice changes nothing.

local first = 1
if #KEYS > 0 and not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  first = 0
end
if ARGV[2] ~= '' then
  redis.call('PUBLISH', ARGV[2], ARGV[3])
end
return first
