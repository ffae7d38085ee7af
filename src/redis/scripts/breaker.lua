-- The circuit breaker's state machine, with the same rules as InMemoryCircuitBreakerStore, as
-- one atomic script per operation on the server's clock. Arguments are built by breakerArgs()
-- in breaker.ts.
-- KEYS[1]: state hash (st state, oa opened at, od how long this open period lasts, cf consecutive failures, pr probes admitted,
--   pk probe successes, ps slow probes, pa last probe admitted at, n/f/s window totals,
--   nx next ring slot (count window), lt latest bucket index (time window)).
-- KEYS[2]: the window: a string of one digit per outcome (count: bit 0 failure, bit 1 slow),
--   or a hash of bucket counts c<slot>, f<slot>, s<slot> (time: buckets + 1 slots, as the
--   in-memory TIME window keeps a bucket until its end is windowMs old).
-- ARGV: op, failureThreshold, recoveryMs, failureRate (-1: consecutive mode), slowRate (-1: none),
--   timed (1/0), windowSize, windowMs, buckets, minimumCalls, halfOpenMaxCalls, idleTtlMs,
--   probeLeaseMs, failure (1/0), slow (1/0), probe (0: the outcome of a call known to hold no
--   probe slot of the current HALF_OPEN period, counted in the window but deciding nothing
--   there; 1: may be a probe; 2: the outcome of a call admitted before the circuit last closed,
--   dropped while CLOSED and otherwise taken as 0),
--   recoveryBackoff (>= 1), maxRecoveryMs.
if redis.replicate_commands then pcall(redis.replicate_commands) end
local H = KEYS[1]
local W = KEYS[2]
local op = ARGV[1]
if op == 'reset' then
  redis.call('DEL', H, W)
  return 'closed'
end
local threshold = tonumber(ARGV[2])
local recovery = tonumber(ARGV[3])
local failRate = tonumber(ARGV[4])
local slowRate = tonumber(ARGV[5])
local timed = ARGV[6] == '1'
local size = tonumber(ARGV[7])
local buckets = tonumber(ARGV[9])
local width = tonumber(ARGV[8]) / buckets
-- A bucket stays until its end is windowMs old: the bucket of now and the `buckets` before it.
local slots = buckets + 1
local minCalls = tonumber(ARGV[10])
local maxProbes = tonumber(ARGV[11])
local ttl = ARGV[12]
local probeLease = tonumber(ARGV[13])
local failure = ARGV[14] == '1'
local slow = ARGV[15] == '1'
local stale = ARGV[16] == '2'
local probe = ARGV[16] ~= '0' and not stale
local growth = tonumber(ARGV[17]) or 1
local maxRecovery = tonumber(ARGV[18]) or recovery
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + tonumber(time[2]) / 1000
local v = redis.call('HMGET', H, 'st', 'oa', 'cf', 'pr', 'pk', 'ps', 'pa', 'n', 'f', 's', 'nx', 'lt', 'od')
local st = v[1] or 'closed'
local oa = tonumber(v[2]) or 0
local cf = tonumber(v[3]) or 0
local pr = tonumber(v[4]) or 0
local pk = tonumber(v[5]) or 0
local ps = tonumber(v[6]) or 0
local pa = tonumber(v[7]) or 0
local n = tonumber(v[8]) or 0
local f = tonumber(v[9]) or 0
local s = tonumber(v[10]) or 0
local nx = tonumber(v[11]) or 0
local lt = tonumber(v[12]) or -1
-- The open time: recovery after a trip from CLOSED, grown by each re-open from HALF_OPEN.
local od = tonumber(v[13]) or recovery
local dirty = false
if n > 0 and redis.call('EXISTS', W) == 0 then
  n = 0 f = 0 s = 0 nx = 0 lt = -1 dirty = true
end
local function fmt(x) return string.format('%.17g', x) end
local function clearProbes() pr = 0 pk = 0 ps = 0 end
local function open(duration) st = 'open' oa = now od = duration cf = 0 clearProbes() dirty = true end
local function halfOpen() st = 'half-open' clearProbes() dirty = true end
local function close()
  st = 'closed' cf = 0 od = recovery clearProbes()
  n = 0 f = 0 s = 0 nx = 0 lt = -1
  redis.call('DEL', W)
  dirty = true
end
local function advance()
  local index = math.floor(now / width)
  if index > lt then
    if index - lt >= slots then
      redis.call('DEL', W)
      n = 0 f = 0 s = 0
    else
      for i = lt + 1, index do
        local slot = i % slots
        local b = redis.call('HMGET', W, 'c' .. slot, 'f' .. slot, 's' .. slot)
        if b[1] then
          n = n - tonumber(b[1])
          f = f - (tonumber(b[2]) or 0)
          s = s - (tonumber(b[3]) or 0)
          redis.call('HDEL', W, 'c' .. slot, 'f' .. slot, 's' .. slot)
        end
      end
    end
    lt = index
    dirty = true
  end
  return lt % slots
end
-- Every outcome enters the window, whatever the state (the metrics count every call that ran);
-- only the state's rules below decide whether it moves the circuit.
local function push()
  if timed then
    local slot = advance()
    redis.call('HINCRBY', W, 'c' .. slot, 1)
    if failure then redis.call('HINCRBY', W, 'f' .. slot, 1) end
    if slow then redis.call('HINCRBY', W, 's' .. slot, 1) end
    n = n + 1
  else
    if n >= size then
      local old = (string.byte(redis.call('GETRANGE', W, nx, nx)) or 48) - 48
      if old == 1 or old == 3 then f = f - 1 end
      if old == 2 or old == 3 then s = s - 1 end
      n = size
    else
      n = n + 1
    end
    redis.call('SETRANGE', W, nx, string.char(48 + (failure and 1 or 0) + (slow and 2 or 0)))
    nx = nx + 1
    if nx >= size then nx = 0 end
  end
  if failure then f = f + 1 end
  if slow then s = s + 1 end
  dirty = true
end
local function recordClosed()
  local trip = false
  if failure then
    cf = cf + 1
    if failRate < 0 then
      trip = cf >= threshold
    else
      trip = n >= minCalls and f / n >= failRate
    end
  else
    cf = 0
  end
  if not trip and slow and slowRate >= 0 then
    trip = n >= minCalls and s / n >= slowRate
  end
  if trip then open(recovery) end
end
local function reopen() open(math.min(od * growth, maxRecovery)) end
local function recordProbe()
  if failure then
    reopen()
    return
  end
  pk = pk + 1
  if slow then ps = ps + 1 end
  dirty = true
  if slowRate >= 0 and ps / maxProbes >= slowRate then
    reopen()
  elseif pk >= maxProbes then
    close()
  end
end
local function admitProbe()
  local kind = 1
  if pr >= maxProbes then
    if now - pa < probeLease then return { 0, 'half-open', 0, '0' } end
    -- Probes admitted that long ago and never reported are taken as lost (their holder died).
    pr = pk
    kind = 2
  end
  pr = pr + 1
  pa = now
  dirty = true
  return { 1, 'half-open', kind, '0' }
end
local result
if op == 'acquire' then
  if st == 'closed' then
    result = { 1, 'closed', 0, '0' }
  elseif st == 'open' then
    local left = od - (now - oa)
    if left > 0 then
      result = { 0, 'open', 0, fmt(left) }
    else
      halfOpen()
      result = admitProbe()
    end
  elseif st == 'half-open' then
    result = admitProbe()
  else
    result = { 0, st, 0, '0' }
  end
elseif op == 'record' then
  -- A call admitted before the last close reports about a window that close emptied.
  if not (stale and st == 'closed') then
    push()
    if st == 'closed' then
      recordClosed()
    elseif st == 'half-open' and probe then
      recordProbe()
    end
  elseif timed then
    -- Dropped: the totals answered below are still those of the window as it is now.
    advance()
  end
  -- The window's totals after the outcome, as a snapshot gives them: the breaker's metrics
  -- follow every record without asking for them.
  result = { st, n, f, s, fmt(od) }
elseif op == 'release' then
  if st == 'half-open' and pr > 0 then
    pr = pr - 1
    dirty = true
  end
  result = st
elseif op == 'isolate' then
  st = 'isolated'
  clearProbes()
  dirty = true
  result = st
else
  if st == 'open' and now - oa >= od then halfOpen() end
  if op == 'snapshot' then
    if timed then advance() end
    result = { st, n, f, s, fmt(od) }
  else
    result = st
  end
end
if dirty then
  redis.call('HSET', H, 'st', st, 'oa', fmt(oa), 'od', fmt(od), 'cf', cf, 'pr', pr, 'pk', pk, 'ps', ps,
    'pa', fmt(pa), 'n', n, 'f', f, 's', s, 'nx', nx, 'lt', fmt(lt))
  -- An isolated circuit keeps its window as long as its state, as in memory: until reset().
  if st == 'isolated' then
    redis.call('PERSIST', H)
    redis.call('PERSIST', W)
  else
    redis.call('PEXPIRE', H, ttl)
    redis.call('PEXPIRE', W, ttl)
  end
end
return result
