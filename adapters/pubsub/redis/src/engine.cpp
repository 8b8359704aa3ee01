#include "engine.hpp"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>
#include <cstdint>
#include <utility>

#include "ws/base/utf8_validator.hpp"

namespace ws::redis::detail {

namespace {

constexpr char text_marker = 't';
constexpr char binary_marker = 'b';
// Streams mode: the message as published carries its stream entry ID,
// "T<ms>-<seq> <payload>" (B for binary).
constexpr char positioned_text_marker = 'T';
constexpr char positioned_binary_marker = 'B';

// Streams mode publish, atomic in Redis: the entry ID that XADD assigns is
// the message's position, and PUBLISH in the same script makes pub/sub
// order equal to ID order on every node. KEYS[1] is both the stream key and
// the pub/sub channel (separate namespaces in Redis). ARGV: kind ('t' or
// 'b'), payload, MAXLEN, retention in ms (0: the key never expires). The
// retention is renewed by every publish, so only streams nobody publishes
// to for that long expire (a resume then gets an other_epoch gap).
constexpr std::string_view publish_script =
    "local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*', 'k', ARGV[1], 'd', "
    "ARGV[2])\n"
    "if ARGV[4] ~= '0' then redis.call('PEXPIRE', KEYS[1], ARGV[4]) end\n"
    "redis.call('PUBLISH', KEYS[1], string.upper(ARGV[1]) .. id .. ' ' .. ARGV[2])\n"
    "return id\n";

// Streams mode fetch, one snapshot: {last-generated-id, gap, entries}.
// Without a since: no entries. With one: gap is '' and the entries are
// those after it when it is complete, which it is when its entry is still
// there (trimming removes the oldest first), or when it is 0-0 ("before
// anything") and nothing was ever removed (entries-added == length).
// Otherwise the entries are the newest ones kept, after a gap: 'ahead' for
// a since past the last ID; 'too_old' when its entry is gone and something
// was removed (trimmed, or deleted); 'other_epoch' when its entry is gone
// but nothing was ever removed, or the stream itself is gone: this stream
// never held it (Redis was flushed, restarted without persistence, or the
// key expired), and its IDs, though larger, do not continue the client's. One
// answer carries at most ARGV[2] (COUNT) entries: when more than that follow
// the since, the oldest COUNT would leave a silent hole before what arrives
// live, so the answer is instead the newest COUNT with a too_old gap for
// what is older. IDs are compared as numbers (exact below 2^53, which
// Redis's millisecond part is).
constexpr std::string_view fetch_script =
    "local since = ARGV[1]\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then\n"
    "  if since == '' or since == '0-0' then return {'0-0', '', {}} end\n"
    "  return {'0-0', 'other_epoch', {}}\n"
    "end\n"
    "local info = redis.call('XINFO', 'STREAM', KEYS[1])\n"
    "local last, added, length = '0-0', -1, 0\n"
    "for i = 1, #info, 2 do\n"
    "  if info[i] == 'last-generated-id' then last = info[i + 1] end\n"
    "  if info[i] == 'entries-added' then added = info[i + 1] end\n"
    "  if info[i] == 'length' then length = info[i + 1] end\n"
    "end\n"
    "if since == '' then return {last, '', {}} end\n"
    "local function less(a, b)\n"
    "  local am, as = string.match(a, '^(%d+)-(%d+)$')\n"
    "  local bm, bs = string.match(b, '^(%d+)-(%d+)$')\n"
    "  am, as, bm, bs = tonumber(am), tonumber(as), tonumber(bm), tonumber(bs)\n"
    "  return am < bm or (am == bm and as < bs)\n"
    "end\n"
    "local gap = ''\n"
    "if less(last, since) then gap = 'ahead'\n"
    "elseif (since ~= '0-0' or added ~= length) and\n"
    "    #redis.call('XRANGE', KEYS[1], since, since) == 0 then\n"
    "  if added ~= length then gap = 'too_old' else gap = 'other_epoch' end\n"
    "end\n"
    "local function newest()\n"
    "  local backwards = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', ARGV[2])\n"
    "  local out = {}\n"
    "  for i = #backwards, 1, -1 do out[#out + 1] = backwards[i] end\n"
    "  return out\n"
    "end\n"
    "if gap ~= '' then return {last, gap, newest()} end\n"
    "local entries = redis.call('XRANGE', KEYS[1], '(' .. since, '+', 'COUNT', ARGV[2])\n"
    "if #entries >= tonumber(ARGV[2]) then\n"
    "  local after = '(' .. entries[#entries][1]\n"
    "  if #redis.call('XRANGE', KEYS[1], after, '+', 'COUNT', 1) > 0 then\n"
    "    return {last, 'too_old', newest()}\n"
    "  end\n"
    "end\n"
    "return {last, '', entries}\n";

std::string_view reply_text(const redisReply* reply) {
  if (reply == nullptr || reply->str == nullptr) return {};
  return {reply->str, reply->len};
}

Engine* engine_of(void* data) { return static_cast<Engine*>(data); }

// A PUBLISH's payload size travels as its reply callback's private data.
void* size_as_data(std::size_t bytes) {
  return reinterpret_cast<void*>(static_cast<std::uintptr_t>(bytes));
}
std::size_t size_of_data(void* data) {
  return static_cast<std::size_t>(reinterpret_cast<std::uintptr_t>(data));
}

}  // namespace

Engine::Engine(std::unique_ptr<LoopDriver> driver, channels::Registry& registry,
               RedisBackplaneOptions options)
    : driver_(std::move(driver)),
      registry_(registry),
      options_(std::move(options)),
      streams_(registry.resumable()),
      stream_max_length_(
          std::to_string(std::max<std::size_t>(registry.options().history.max_messages, 1))),
      // MAXLEN ~ trims whole nodes only, so a stream can hold somewhat more.
      fetch_count_(std::to_string(2 * registry.options().history.max_messages + 1000)),
      stream_retention_(std::to_string(
          std::max<std::chrono::milliseconds::rep>(options_.stream_retention.count(), 0))) {
  for (Link* link : {&publisher_, &subscriber_}) {
    link->engine = this;
    link->io = driver_->make_watch();
    link->timer = driver_->make_timer();
    link->backoff = options_.reconnect_min;
  }
  publisher_.role = Role::publisher;
  subscriber_.role = Role::subscriber;
  stall_timer_ = driver_->make_timer();
}

Engine::~Engine() { shutdown(); }

// ---- Any thread -------------------------------------------------------------

void Engine::post(void (Engine::*member)()) {
  driver_->post([weak = weak_from_this(), member] {
    if (const std::shared_ptr<Engine> self = weak.lock()) ((*self).*member)();
  });
}

void Engine::start() {
  driver_->post([weak = weak_from_this()] {
    const std::shared_ptr<Engine> self = weak.lock();
    if (!self || self->stopping_) return;
    self->connect(self->publisher_);
    self->connect(self->subscriber_);
  });
}

channels::PublishResult Engine::publish(std::string_view channel, MessageKind kind,
                                        ByteView payload) {
  Outgoing item;
  item.channel.reserve(options_.channel_prefix.size() + channel.size());
  item.channel.append(options_.channel_prefix).append(channel);
  item.body.reserve(1 + payload.size());
  item.body.push_back(kind == MessageKind::text ? text_marker : binary_marker);
  item.body.append(as_text(payload));

  channels::PublishResult result;
  bool wake = false;
  bool dropped = false;
  bool rejected = false;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) {
      result.error = make_error_code(channels::BackplaneErrc::shut_down);
    } else if (publisher_up_ &&
               (outbox_.size() + in_flight_ >= options_.max_in_flight_messages ||
                outbox_bytes_ + in_flight_bytes_ + payload.size() > options_.max_in_flight_bytes)) {
      // Redis is not keeping up (or not reading at all): refuse rather than
      // hold every publish until it does.
      result.error = make_error_code(channels::BackplaneErrc::buffer_full);
      rejected = true;
      dropped = options_.outage == OutagePolicy::drop;
    } else if (publisher_up_) {
      outbox_bytes_ += payload.size();
      outbox_.push_back(std::move(item));
      result.status = channels::PublishStatus::sent;
      wake = !drain_posted_;
      drain_posted_ = true;
    } else {
      switch (options_.outage) {
        case OutagePolicy::reject:
          result.error = make_error_code(channels::BackplaneErrc::unavailable);
          break;
        case OutagePolicy::buffer:
          if (outbox_.size() < options_.buffer_messages &&
              outbox_bytes_ + payload.size() <= options_.buffer_bytes) {
            outbox_bytes_ += payload.size();
            outbox_.push_back(std::move(item));
            result.status = channels::PublishStatus::buffered;
          } else {
            result.error = make_error_code(channels::BackplaneErrc::buffer_full);
          }
          break;
        case OutagePolicy::drop:
          result.error = make_error_code(channels::BackplaneErrc::dropped);
          dropped = true;
          break;
      }
    }
  }
  if (!result.ok()) failed_.fetch_add(1, std::memory_order_relaxed);
  if (rejected) rejected_.fetch_add(1, std::memory_order_relaxed);
  if (wake) post(&Engine::drain_outbox);
  if (dropped) report_lost(LostReason::dropped, 1);
  return result;
}

void Engine::change_subscription(std::string_view channel, bool wanted) {
  // One queue in call order: the Registry calls this under its lock, so the
  // loop sees joins and leaves in the order they happened.
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;
    changes_.push_back(Change{std::string(channel), wanted});
    wake = !changes_posted_;
    changes_posted_ = true;
  }
  if (wake) post(&Engine::apply_changes);
}

void Engine::fetch_since(std::string_view channel, std::uint64_t ticket,
                         std::optional<channels::Position> since) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    if (shut_down_) return;  // the member never goes live; its connection ends with the server
    // Behind the channel's subscribe (same lock, same posted task).
    fetches_.push_back(Fetch{std::string(channel), ticket, since});
    wake = !changes_posted_;
    changes_posted_ = true;
  }
  if (wake) post(&Engine::apply_changes);
}

RedisBackplaneStats Engine::stats() const {
  RedisBackplaneStats stats;
  {
    std::lock_guard lock(mutex_);
    stats.publisher_connected = publisher_up_;
    stats.buffered = outbox_.size();
    stats.buffered_bytes = outbox_bytes_;
    stats.unconfirmed = in_flight_;
    stats.unconfirmed_bytes = in_flight_bytes_;
  }
  stats.subscriber_connected = subscriber_up_.load();
  stats.subscribed_channels = subscribed_.load();
  stats.published = published_.load();
  stats.confirmed = confirmed_.load();
  stats.received = received_.load();
  stats.failed = failed_.load();
  stats.rejected = rejected_.load();
  stats.lost = lost_.load();
  stats.reconnects = reconnects_.load();
  stats.stalls = stalls_.load();
  return stats;
}

void Engine::report_lost(LostReason reason, std::size_t count) {
  if (count == 0) return;
  lost_.fetch_add(count, std::memory_order_relaxed);
  if (options_.on_lost) options_.on_lost(reason, count);
}

// ---- Connections (loop thread) ------------------------------------------------

void Engine::connect(Link& link) {
  if (stopping_ || link.context != nullptr) return;
  // hiredis resolves a host name with a blocking lookup: prefer addresses.
  redisAsyncContext* context =
      redisAsyncConnect(options_.endpoint.host.c_str(), options_.endpoint.port);
  if (context == nullptr) {
    schedule_connect(link);
    return;
  }
  if (context->err != 0) {
    redisAsyncFree(context);  // no hooks yet: nothing calls back
    schedule_connect(link);
    return;
  }
  link.context = context;
  context->data = &link;
  context->ev.data = &link;
  context->ev.addRead = &Engine::add_read;
  context->ev.delRead = &Engine::del_read;
  context->ev.addWrite = &Engine::add_write;
  context->ev.delWrite = &Engine::del_write;
  context->ev.cleanup = &Engine::cleanup;
  link.io->watch(context->c.fd, [&link](bool readable, bool writable) {
    // Either call may free the context (cleanup clears link.context).
    if (readable && link.context != nullptr) redisAsyncHandleRead(link.context);
    if (writable && link.context != nullptr) redisAsyncHandleWrite(link.context);
  });
  // Setting the connect callback asks for the first write event, which
  // tells that the non-blocking connect finished.
  redisAsyncSetConnectCallback(context, &Engine::on_connected);
  redisAsyncSetDisconnectCallback(context, &Engine::on_disconnected);
  link.timer->arm(options_.connect_timeout, [&link, context] {
    if (link.context == context && !link.connected) redisAsyncFree(context);
  });
}

void Engine::schedule_connect(Link& link) {
  if (stopping_) return;
  const std::chrono::milliseconds delay = link.backoff;
  link.backoff = std::min(link.backoff * 2, options_.reconnect_max);
  link.timer->arm(delay, [&link] { link.engine->connect(link); });
}

void Engine::add_read(void* data) {
  Link& link = *static_cast<Link*>(data);
  link.read = true;
  link.io->set_interest(link.read, link.write);
}

void Engine::del_read(void* data) {
  Link& link = *static_cast<Link*>(data);
  link.read = false;
  link.io->set_interest(link.read, link.write);
}

void Engine::add_write(void* data) {
  Link& link = *static_cast<Link*>(data);
  link.write = true;
  link.io->set_interest(link.read, link.write);
}

void Engine::del_write(void* data) {
  Link& link = *static_cast<Link*>(data);
  link.write = false;
  link.io->set_interest(link.read, link.write);
}

void Engine::cleanup(void* data) {
  // hiredis is freeing the context (after a failed connect, a lost
  // connection or redisAsyncFree): this is the one place a link goes down.
  Link& link = *static_cast<Link*>(data);
  link.engine->link_gone(link);
}

void Engine::on_connected(const redisAsyncContext* context, int status) {
  Link& link = *static_cast<Link*>(context->data);
  // On failure hiredis frees the context next; cleanup schedules the retry.
  if (status == REDIS_OK) link.engine->link_up(link);
}

void Engine::on_disconnected(const redisAsyncContext*, int) {
  // Nothing to do: cleanup already ran for this context.
}

void Engine::link_up(Link& link) {
  link.connected = true;
  link.timer->cancel();
  link.backoff = options_.reconnect_min;
  if (link.ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
  link.ever_connected = true;
  if (link.role == Role::publisher) {
    try_fetches();
    bool buffered = false;
    {
      std::lock_guard lock(mutex_);
      buffered = !outbox_.empty();
    }
    if (buffered && options_.outage == OutagePolicy::buffer) {
      // Publishes keep queueing behind the buffered ones meanwhile.
      link.timer->arm(options_.buffer_resume_delay, [this] { resume_publishing(); });
    } else {
      resume_publishing();
    }
  } else {
    subscriber_up_.store(true);
    post(&Engine::reconcile_all);
  }
  update_connection_signal();
}

void Engine::resume_publishing() {
  if (!publisher_.connected) return;
  {
    std::lock_guard lock(mutex_);
    publisher_up_ = true;
    drain_posted_ = true;
  }
  // Buffered publishes go first, in their order.
  post(&Engine::drain_outbox);
}

void Engine::link_gone(Link& link) {
  link.context = nullptr;
  link.io->unwatch();
  link.read = link.write = false;
  link.timer->cancel();
  link.connected = false;
  if (link.role == Role::publisher) {
    stall_timer_->cancel();
    stall_armed_ = false;
    std::deque<Outgoing> unsent;
    {
      std::lock_guard lock(mutex_);
      publisher_up_ = false;
      // hiredis answered every written one with NULL before this cleanup.
      in_flight_ = 0;
      in_flight_bytes_ = 0;
      if (options_.outage != OutagePolicy::buffer || stopping_) {
        unsent.swap(outbox_);
        outbox_bytes_ = 0;
      }
    }
    report_lost(LostReason::unsent, unsent.size());
    report_lost(LostReason::unconfirmed, std::exchange(unconfirmed_, 0));
  } else {
    subscriber_up_.store(false);
    subscribed_.store(0);
    if (streams_ && !stopping_) {
      // Messages published while unsubscribed never reach this node: every
      // resumable member resumes (from Redis, losing nothing) instead.
      fail_fetches();
      registry_.backplane_interrupted();
    }
    // Redis forgot this connection's subscriptions with it.
    for (auto it = channels_.begin(); it != channels_.end();) {
      it->second.remote = Remote::none;
      it = it->second.wanted ? std::next(it) : channels_.erase(it);
    }
  }
  update_connection_signal();
  schedule_connect(link);
}

void Engine::update_connection_signal() {
  // Not from shutdown(): the application may be tearing down what the
  // callback refers to, and a backplane going away is no news to it.
  if (stopping_) return;
  const bool connected = publisher_.connected && subscriber_.connected;
  if (connected == signalled_connected_) return;
  signalled_connected_ = connected;
  if (options_.on_connection) options_.on_connection(connected);
}

void Engine::shutdown() {
  if (stopping_) return;
  stopping_ = true;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
  }
  stall_timer_->cancel();
  for (Link* link : {&publisher_, &subscriber_}) {
    link->timer->cancel();
    if (link->context != nullptr) redisAsyncFree(link->context);  // cleanup runs link_gone
  }
  std::size_t unsent = 0;
  {
    std::lock_guard lock(mutex_);
    unsent = outbox_.size();
    outbox_.clear();
    outbox_bytes_ = 0;
  }
  report_lost(LostReason::unsent, unsent);
}

// ---- Publishing (loop thread) -------------------------------------------------

void Engine::drain_outbox() {
  std::deque<Outgoing> batch;
  bool was_idle = false;
  {
    std::lock_guard lock(mutex_);
    drain_posted_ = false;
    if (!publisher_up_ || publisher_.context == nullptr) return;
    batch.swap(outbox_);
    // In flight from here: publish() counts them all along.
    was_idle = in_flight_ == 0;
    in_flight_ += batch.size();
    in_flight_bytes_ += outbox_bytes_;
    outbox_bytes_ = 0;
  }
  if (batch.empty()) return;
  std::size_t unsent = 0;
  std::size_t unsent_bytes = 0;
  for (const Outgoing& item : batch) {
    const std::size_t bytes = item.body.size() - 1;  // the payload, without the kind byte
    int status = REDIS_ERR;
    // hiredis formats the command into its own buffer at once.
    if (streams_) {
      const char* argv[8] = {"EVAL",
                             publish_script.data(),
                             "1",
                             item.channel.data(),
                             item.body.data(),
                             item.body.data() + 1,
                             stream_max_length_.data(),
                             stream_retention_.data()};
      const std::size_t lengths[8] = {4,
                                      publish_script.size(),
                                      1,
                                      item.channel.size(),
                                      1,
                                      bytes,
                                      stream_max_length_.size(),
                                      stream_retention_.size()};
      status = redisAsyncCommandArgv(publisher_.context, &Engine::on_published, size_as_data(bytes),
                                     8, argv, lengths);
    } else {
      const char* argv[3] = {"PUBLISH", item.channel.data(), item.body.data()};
      const std::size_t lengths[3] = {7, item.channel.size(), item.body.size()};
      status = redisAsyncCommandArgv(publisher_.context, &Engine::on_published, size_as_data(bytes),
                                     3, argv, lengths);
    }
    if (status == REDIS_OK) {
      published_.fetch_add(1, std::memory_order_relaxed);
    } else {
      ++unsent;
      unsent_bytes += bytes;
    }
  }
  if (unsent != 0) {
    std::lock_guard lock(mutex_);
    in_flight_ -= unsent;
    in_flight_bytes_ -= unsent_bytes;
  }
  report_lost(LostReason::unsent, unsent);
  if (unsent == batch.size() || options_.stall_timeout.count() <= 0) return;
  // The stall clock starts with the first write that finds none waiting.
  if (was_idle) last_progress_ = std::chrono::steady_clock::now();
  if (!stall_armed_) {
    stall_armed_ = true;
    stall_timer_->arm(options_.stall_timeout, [this] { check_stall(); });
  }
}

void Engine::publish_answered(std::size_t bytes, bool answered) {
  {
    std::lock_guard lock(mutex_);
    --in_flight_;
    in_flight_bytes_ -= bytes;
  }
  if (answered) last_progress_ = std::chrono::steady_clock::now();
}

void Engine::check_stall() {
  stall_armed_ = false;
  if (publisher_.context == nullptr || !publisher_.connected) return;
  {
    std::lock_guard lock(mutex_);
    if (in_flight_ == 0) return;  // armed again by the next write
  }
  const auto now = std::chrono::steady_clock::now();
  const auto deadline = last_progress_ + options_.stall_timeout;
  if (now < deadline) {
    stall_armed_ = true;
    stall_timer_->arm(std::chrono::ceil<std::chrono::milliseconds>(deadline - now),
                      [this] { check_stall(); });
    return;
  }
  // Written publishes and no answer for stall_timeout: Redis is stopped, or
  // gone without closing the connection. Treated as a lost connection:
  // cleanup runs link_gone, which reports them as unconfirmed and reconnects.
  stalls_.fetch_add(1, std::memory_order_relaxed);
  redisAsyncFree(publisher_.context);
}

void Engine::on_published(redisAsyncContext* context, void* reply, void* data) {
  Engine* engine = static_cast<Link*>(context->data)->engine;
  const auto* answer = static_cast<const redisReply*>(reply);
  engine->publish_answered(size_of_data(data), answer != nullptr);
  if (answer == nullptr) {
    // The connection is being freed: Redis may or may not have published it.
    ++engine->unconfirmed_;
  } else if (answer->type == REDIS_REPLY_ERROR) {
    engine->report_lost(LostReason::refused, 1);
  } else {
    engine->confirmed_.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---- Subscriptions (loop thread) ----------------------------------------------

void Engine::apply_changes() {
  std::vector<Change> changes;
  std::vector<Fetch> fetches;
  {
    std::lock_guard lock(mutex_);
    changes_posted_ = false;
    changes.swap(changes_);
    fetches.swap(fetches_);
  }
  for (Change& change : changes) {
    channels_[change.channel].wanted = change.wanted;
    reconcile(change.channel);
  }
  for (Fetch& fetch : fetches) waiting_fetches_.push_back(std::move(fetch));
  try_fetches();
}

void Engine::try_fetches() {
  // A fetch goes out once its channel's SUBSCRIBE was confirmed: Redis runs
  // it after the subscription, so every message after its snapshot reaches
  // this node through pub/sub (Registry::resume_answer joins the two).
  for (auto it = waiting_fetches_.begin(); it != waiting_fetches_.end();) {
    const auto channel = channels_.find(it->channel);
    const bool gone = channel == channels_.end() || !channel->second.wanted;
    if (!gone && (channel->second.remote != Remote::subscribed || !publisher_.connected)) {
      ++it;  // sent when both are up
      continue;
    }
    if (gone) {
      registry_.resume_answer(it->channel, it->ticket, nullptr);  // nobody waits: ignored
      it = waiting_fetches_.erase(it);
      continue;
    }
    const std::string name = options_.channel_prefix + it->channel;
    const std::string since = it->since ? channels::to_string(*it->since) : std::string();
    const char* argv[6] = {"EVAL",      fetch_script.data(), "1",
                           name.data(), since.data(),        fetch_count_.data()};
    const std::size_t lengths[6] = {4,           fetch_script.size(), 1,
                                    name.size(), since.size(),        fetch_count_.size()};
    auto pending = std::make_unique<Fetch>(std::move(*it));
    it = waiting_fetches_.erase(it);
    if (redisAsyncCommandArgv(publisher_.context, &Engine::on_fetched, pending.get(), 6, argv,
                              lengths) == REDIS_OK) {
      (void)pending.release();  // on_fetched owns it
    } else {
      registry_.resume_answer(pending->channel, pending->ticket, nullptr);
    }
  }
}

void Engine::fail_fetches() {
  std::vector<Fetch> failed;
  failed.swap(waiting_fetches_);
  for (const Fetch& fetch : failed) registry_.resume_answer(fetch.channel, fetch.ticket, nullptr);
}

void Engine::on_fetched(redisAsyncContext* context, void* reply, void* data) {
  const std::unique_ptr<Fetch> fetch(static_cast<Fetch*>(data));
  Engine* engine = static_cast<Link*>(context->data)->engine;
  engine->fetched(*fetch, reply);
}

void Engine::fetched(const Fetch& fetch, const void* reply_data) {
  // Shutting down (the connection is freed by shutdown()): the application
  // is tearing down, its sessions end anyway; nothing to tell them.
  if (stopping_) return;
  // NULL: the connection is being freed; an error or a malformed answer:
  // the member is told to resume (it reconnects), never given a guess.
  const auto* reply = static_cast<const redisReply*>(reply_data);
  const auto position = [](const redisReply* element) {
    return element != nullptr && element->type == REDIS_REPLY_STRING
               ? channels::parse_position(reply_text(element))
               : std::nullopt;
  };
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3 ||
      reply->element[2]->type != REDIS_REPLY_ARRAY) {
    registry_.resume_answer(fetch.channel, fetch.ticket, nullptr);
    return;
  }
  const auto last = position(reply->element[0]);
  const std::string_view gap = reply_text(reply->element[1]);
  if (!last || (!gap.empty() && gap != "too_old" && gap != "ahead" && gap != "other_epoch")) {
    registry_.resume_answer(fetch.channel, fetch.ticket, nullptr);
    return;
  }
  channels::BackplaneHistory history;
  history.last = *last;
  if (gap == "too_old") history.gap = channels::GapReason::too_old;
  if (gap == "ahead") history.gap = channels::GapReason::ahead;
  if (gap == "other_epoch") history.gap = channels::GapReason::other_epoch;
  const redisReply* entries = reply->element[2];
  history.entries.reserve(entries->elements);
  for (std::size_t i = 0; i < entries->elements; ++i) {
    const redisReply* entry = entries->element[i];
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2) continue;
    const auto id = position(entry->element[0]);
    const redisReply* fields = entry->element[1];
    if (!id || fields->type != REDIS_REPLY_ARRAY) continue;
    std::string_view kind;
    std::string_view data;
    for (std::size_t f = 0; f + 1 < fields->elements; f += 2) {
      const std::string_view name = reply_text(fields->element[f]);
      if (name == "k") kind = reply_text(fields->element[f + 1]);
      if (name == "d") data = reply_text(fields->element[f + 1]);
    }
    channels::BackplaneEntry out{*id, MessageKind::binary, as_bytes(data)};
    if (kind == "t") {
      // Anyone may write to Redis: never forward invalid text to browsers.
      if (!is_valid_utf8(out.payload)) continue;
      out.kind = MessageKind::text;
    } else if (kind != "b") {
      continue;
    }
    history.entries.push_back(out);
  }
  registry_.resume_answer(fetch.channel, fetch.ticket, &history);
}

void Engine::reconcile_all() {
  std::vector<std::string> names;
  names.reserve(channels_.size());
  for (const auto& [name, state] : channels_) names.push_back(name);
  for (const std::string& name : names) reconcile(name);
}

void Engine::reconcile(const std::string& channel) {
  // One SUBSCRIBE or UNSUBSCRIBE in flight per channel at a time: hiredis
  // keeps one callback per channel, and an UNSUBSCRIBE answered after a new
  // SUBSCRIBE was sent would remove the new callback.
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  ChannelState& state = it->second;
  if (state.wanted && state.remote == Remote::none) {
    if (!subscriber_.connected) return;  // subscribed when it connects
    state.remote = Remote::subscribing;
    send_subscription("SUBSCRIBE", channel);
  } else if (!state.wanted && state.remote == Remote::subscribed) {
    state.remote = Remote::unsubscribing;
    send_subscription("UNSUBSCRIBE", channel);
  } else if (!state.wanted && state.remote == Remote::none) {
    channels_.erase(it);
  }
}

void Engine::send_subscription(const char* command, const std::string& channel) {
  const std::string name = options_.channel_prefix + channel;
  const char* argv[2] = {command, name.data()};
  const std::size_t lengths[2] = {std::string_view(command).size(), name.size()};
  redisAsyncCommandArgv(subscriber_.context, &Engine::on_subscription, this, 2, argv, lengths);
}

void Engine::on_subscription(redisAsyncContext*, void* reply, void* data) {
  const auto* answer = static_cast<const redisReply*>(reply);
  // NULL: the connection is being freed (link_gone resets the channels).
  if (answer == nullptr || answer->type != REDIS_REPLY_ARRAY || answer->elements < 3) return;
  const std::string_view kind = reply_text(answer->element[0]);
  const std::string_view channel = reply_text(answer->element[1]);
  if (kind == "message") {
    engine_of(data)->handle_message(channel, reply_text(answer->element[2]));
  } else {
    engine_of(data)->subscription_reply(kind, channel);
  }
}

void Engine::subscription_reply(std::string_view kind, std::string_view redis_channel) {
  if (redis_channel.substr(0, options_.channel_prefix.size()) != options_.channel_prefix) return;
  const std::string channel(redis_channel.substr(options_.channel_prefix.size()));
  const auto it = channels_.find(channel);
  if (it == channels_.end()) return;
  ChannelState& state = it->second;
  if (kind == "subscribe" && state.remote == Remote::subscribing) {
    state.remote = Remote::subscribed;
    subscribed_.fetch_add(1);
    if (!waiting_fetches_.empty()) {
      driver_->post([weak = weak_from_this()] {
        if (const std::shared_ptr<Engine> self = weak.lock()) self->try_fetches();
      });
    }
  } else if (kind == "unsubscribe" && state.remote == Remote::unsubscribing) {
    state.remote = Remote::none;
    subscribed_.fetch_sub(1);
  } else {
    return;
  }
  // Not from inside hiredis's callback: a new (UN)SUBSCRIBE goes out after it returns.
  driver_->post([weak = weak_from_this(), channel] {
    if (const std::shared_ptr<Engine> self = weak.lock()) self->reconcile(channel);
  });
}

void Engine::handle_message(std::string_view redis_channel, std::string_view body) {
  if (redis_channel.substr(0, options_.channel_prefix.size()) != options_.channel_prefix) return;
  if (body.empty()) return;
  const std::string_view channel = redis_channel.substr(options_.channel_prefix.size());
  if (streams_) {
    // Only positioned messages: a resumable member must never be handed one
    // without a position (a node not in streams mode publishing here would
    // be a configuration error: every node of a cluster runs the same mode).
    const bool text = body.front() == positioned_text_marker;
    if (!text && body.front() != positioned_binary_marker) return;
    const std::size_t space = body.find(' ');
    if (space == std::string_view::npos) return;
    const auto position = channels::parse_position(body.substr(1, space - 1));
    const ByteView payload = as_bytes(body.substr(space + 1));
    if (!position || (text && !is_valid_utf8(payload))) return;
    received_.fetch_add(1, std::memory_order_relaxed);
    registry_.deliver_positioned(channel, *position, text ? MessageKind::text : MessageKind::binary,
                                 payload);
    return;
  }
  const ByteView payload = as_bytes(body.substr(1));
  MessageKind kind = MessageKind::binary;
  if (body.front() == text_marker) {
    // Anyone may publish to Redis: never forward invalid text to browsers.
    if (!is_valid_utf8(payload)) return;
    kind = MessageKind::text;
  } else if (body.front() != binary_marker) {
    return;
  }
  received_.fetch_add(1, std::memory_order_relaxed);
  // Framed once here for every member on this server.
  registry_.deliver_local(channel, PreparedMessage::make(kind, payload));
}

}  // namespace ws::redis::detail
