import Redis

/// The send queue's Lua scripts. They live in Swift literals rather than
/// resource files so a release binary copied alone into a container still has
/// them. Every key they touch carries the `{send}` hash tag (so Redis Cluster
/// keeps them in one slot); the per-number list keys are built from a prefix
/// for the same reason.
enum SendQueueScripts {
    /// Appends jobs to a number's list and makes sure the number is in `ready`,
    /// no earlier than the pace it had reached.
    /// KEYS: ready, throughput, pace. ARGV: queue prefix, now ms, number, segments/s, front(0|1), items…
    static let push = RedisScript(
        """
        local q = ARGV[1] .. ARGV[3]
        if ARGV[5] == '1' then
          for i = #ARGV, 6, -1 do redis.call('LPUSH', q, ARGV[i]) end
        else
          for i = 6, #ARGV do redis.call('RPUSH', q, ARGV[i]) end
        end
        if ARGV[4] ~= '' then redis.call('HSET', KEYS[2], ARGV[3], ARGV[4]) end
        if redis.call('ZSCORE', KEYS[1], ARGV[3]) == false then
          local pace = tonumber(redis.call('HGET', KEYS[3], ARGV[3]) or '0')
          redis.call('ZADD', KEYS[1], math.max(tonumber(ARGV[2]), pace), ARGV[3])
        end
        return redis.call('LLEN', q)
        """)

    /// Serves the number whose turn it is: pops its next job, moves the number's
    /// score on by segments ÷ throughput, and leases the job in `active`.
    /// Returns {'job', number, job, segments}, {'wait', ms} or {}.
    /// KEYS: ready, active, throughput, pace. ARGV: queue prefix, now ms, lease ms.
    static let pop = RedisScript(
        """
        local now = tonumber(ARGV[2])
        for attempt = 1, 16 do
          local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
          if #head == 0 then return {} end
          local number, score = head[1], tonumber(head[2])
          if score > now then return {'wait', tostring(score - now)} end
          local q = ARGV[1] .. number
          local item = redis.call('LPOP', q)
          if item then
            local sep = string.find(item, ':', 1, true)
            local job = string.sub(item, 1, sep - 1)
            local segments = tonumber(string.sub(item, sep + 1))
            local tps = tonumber(redis.call('HGET', KEYS[3], number) or '1')
            local nextAt = math.max(score, now) + math.ceil(segments * 1000 / tps)
            redis.call('HSET', KEYS[4], number, nextAt)
            if redis.call('LLEN', q) > 0 then
              redis.call('ZADD', KEYS[1], nextAt, number)
            else
              redis.call('ZREM', KEYS[1], number)
            end
            redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), number .. '|' .. job .. '|' .. segments)
            return {'job', number, job, tostring(segments)}
          end
          redis.call('ZREM', KEYS[1], number)
        end
        return {}
        """)

    /// Moves up to ARGV[3] members whose score is due out of a sorted set
    /// (`delayed`, or `active` for expired leases) back to the front of their
    /// number's list. KEYS: source zset, ready, pace. ARGV: queue prefix, now ms, limit.
    static let requeueDue = RedisScript(
        """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
        for i = #due, 1, -1 do
          local member = due[i]
          local a = string.find(member, '|', 1, true)
          local b = string.find(member, '|', a + 1, true)
          local number = string.sub(member, 1, a - 1)
          local job = string.sub(member, a + 1, b - 1)
          local segments = string.sub(member, b + 1)
          redis.call('ZREM', KEYS[1], member)
          redis.call('LPUSH', ARGV[1] .. number, job .. ':' .. segments)
          if redis.call('ZSCORE', KEYS[2], number) == false then
            local pace = tonumber(redis.call('HGET', KEYS[3], number) or '0')
            redis.call('ZADD', KEYS[2], math.max(tonumber(ARGV[2]), pace), number)
          end
        end
        return #due
        """)

    /// Takes a leased job out of `active` and, with a due time, into `delayed`,
    /// or with 'dead' into the dead list. Returns 0 when the lease was gone
    /// (reaped and handed to someone else). KEYS: active, delayed, dead.
    /// ARGV: member, 'done' | 'delay' | 'dead', due ms.
    static let settle = RedisScript(
        """
        if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
        if ARGV[2] == 'delay' then
          redis.call('ZADD', KEYS[2], tonumber(ARGV[3]), ARGV[1])
        elseif ARGV[2] == 'dead' then
          redis.call('LPUSH', KEYS[3], ARGV[1])
        end
        return 1
        """)

    /// Gives delayed members a due time of now, in the order given (earlier
    /// first); members not in the set are ignored. KEYS: delayed. ARGV: now ms, members…
    static let expedite = RedisScript(
        """
        local now = tonumber(ARGV[1])
        local found = 0
        for i = 2, #ARGV do
          if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
            redis.call('ZADD', KEYS[1], now - #ARGV + i, ARGV[i])
            found = found + 1
          end
        end
        return found
        """)
}
