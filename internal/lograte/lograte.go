package lograte

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"
)

// SuppressedKey is the attribute a record gets when records of its key
// were held back before it: how many.
const SuppressedKey = "suppressed"

// Options configure a Handler.
type Options struct {
	// Keys are the attributes that name a source, such as "config": a
	// record is limited per message and values of these attributes, and
	// only if it has at least one of them; others pass.
	Keys []string
	// Burst records of a key pass at once; then one more per Interval.
	Burst    int
	Interval time.Duration
	// MinLevel: records below it pass, unlimited.
	MinLevel slog.Level
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Handler passes records to another handler, at most Burst at once and
// then one per Interval for each key (see Options.Keys). The handlers
// derived from it by WithAttrs and WithGroup share its limits.
type Handler struct {
	next  slog.Handler
	st    *state
	attrs []slog.Attr // the key attributes given by WithAttrs, outside groups
	group bool        // in a group: later attributes are not keys
}

// state is what the handlers derived from one New share.
type state struct {
	opts      Options
	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

// bucket is one key's allowance: tokens left, when they were last
// refilled, and the records held back since one last passed, the last of
// them kept (with the handler it was for) to be passed late.
type bucket struct {
	tokens     int
	refilled   time.Time
	suppressed int
	last       heldRecord
}

// heldRecord is a record held back and the handler it was for.
type heldRecord struct {
	next slog.Handler
	r    slog.Record
}

// New returns a Handler over next.
func New(next slog.Handler, opts Options) *Handler {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Burst = max(opts.Burst, 1)
	return &Handler{next: next, st: &state{opts: opts, buckets: map[string]*bucket{}}}
}

// Enabled reports whether the next handler takes records at level l.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle passes r on, unless its key is over its limit.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < h.st.opts.MinLevel {
		return h.next.Handle(ctx, r)
	}
	key, ok := h.key(r)
	if !ok {
		return h.next.Handle(ctx, r)
	}
	pass, suppressed, late := h.st.take(key, heldRecord{h.next, r})
	for _, l := range late {
		_ = l.next.Handle(ctx, l.r) // best effort, as the record it stands for was
	}
	if !pass {
		return nil
	}
	return h.next.Handle(ctx, withSuppressed(r, suppressed))
}

// withSuppressed is r saying that n records of its key were held back
// before it (r itself when n is 0).
func withSuppressed(r slog.Record, n int) slog.Record {
	if n == 0 {
		return r
	}
	r = r.Clone()
	r.AddAttrs(slog.Int(SuppressedKey, n))
	return r
}

// WithAttrs returns a handler whose records have attrs, limited together
// with this one's.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := &Handler{next: h.next.WithAttrs(attrs), st: h.st, attrs: h.attrs, group: h.group}
	if !h.group {
		out.attrs = append(slices.Clip(h.attrs), h.st.keyAttrs(attrs)...)
	}
	return out
}

// WithGroup returns a handler whose later attributes are in group name
// (and so are not keys), limited together with this one's.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return &Handler{next: h.next.WithGroup(name), st: h.st, attrs: h.attrs, group: true}
}

// key is r's message and key attributes; false when it has none.
func (h *Handler) key(r slog.Record) (string, bool) {
	attrs := h.attrs
	if !h.group {
		r.Attrs(func(a slog.Attr) bool {
			attrs = append(slices.Clip(attrs), h.st.keyAttrs([]slog.Attr{a})...)
			return true
		})
	}
	if len(attrs) == 0 {
		return "", false
	}
	var b strings.Builder
	b.WriteString(r.Message)
	for _, a := range attrs {
		b.WriteString("\x00" + a.Key + "=" + a.Value.String())
	}
	return b.String(), true
}

// keyAttrs returns the attributes of attrs that are keys.
func (s *state) keyAttrs(attrs []slog.Attr) []slog.Attr {
	var out []slog.Attr
	for _, a := range attrs {
		if slices.Contains(s.opts.Keys, a.Key) {
			out = append(out, a)
		}
	}
	return out
}

// take spends one of key's tokens for rec: whether it passes and, if it
// does, how many records of key were held back before it; and the
// records held back that are now to pass late (see sweep).
func (s *state) take(key string, rec heldRecord) (bool, int, []heldRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	late := s.sweep(now, key)
	b := s.buckets[key]
	if b == nil {
		b = &bucket{tokens: s.opts.Burst, refilled: now}
		s.buckets[key] = b
	}
	s.refill(b, now)
	if b.tokens == 0 {
		b.suppressed++
		rec.r = rec.r.Clone()
		b.last = rec
		return false, 0, late
	}
	b.tokens--
	held := b.suppressed
	b.suppressed, b.last = 0, heldRecord{}
	return true, held, late
}

// refill adds the tokens earned since b was last refilled, up to Burst.
func (s *state) refill(b *bucket, now time.Time) {
	if s.opts.Interval <= 0 {
		b.tokens, b.refilled = s.opts.Burst, now
		return
	}
	n := int(now.Sub(b.refilled) / s.opts.Interval)
	if n <= 0 {
		return
	}
	b.tokens = min(s.opts.Burst, b.tokens+n)
	b.refilled = b.refilled.Add(time.Duration(n) * s.opts.Interval)
	if b.tokens == s.opts.Burst {
		b.refilled = now
	}
}

// sweep, at most once per Interval, passes late the last record held
// back of each key that has a token again, saying how many were held back
// before it, so that the count is not lost when no record of the key
// comes again (a config fixed, or removed); and forgets the keys that are
// back to a full allowance with nothing held back: they are as good as
// new, and keys of configs long gone do not pile up. It returns the
// records to pass. The key being taken is left to take: its record says
// the count.
func (s *state) sweep(now time.Time, taking string) []heldRecord {
	if now.Sub(s.lastSweep) < s.opts.Interval {
		return nil
	}
	s.lastSweep = now
	var late []heldRecord
	for k, b := range s.buckets {
		s.refill(b, now)
		if b.suppressed > 0 && b.tokens > 0 && k != taking {
			b.tokens--
			l := b.last
			l.r = withSuppressed(l.r, b.suppressed-1)
			late = append(late, l)
			b.suppressed, b.last = 0, heldRecord{}
		}
		if b.tokens == s.opts.Burst && b.suppressed == 0 {
			delete(s.buckets, k)
		}
	}
	return late
}
