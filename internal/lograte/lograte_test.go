package lograte

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"
)

// clock is a fake clock the tests move by hand.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// step is one log call of a test: after advancing the clock by after,
// log msg at level with config (none if empty).
type step struct {
	after  time.Duration
	config string
	msg    string
	level  slog.Level
}

func TestHandler(t *testing.T) {
	const minute = time.Minute
	warn := func(after time.Duration, config, msg string) step {
		return step{after, config, msg, slog.LevelWarn}
	}
	for _, tc := range []struct {
		name  string
		burst int
		steps []step
		want  []string // the lines that pass, without time and level
	}{
		{
			name:  "one a minute after the first",
			burst: 1,
			steps: []step{warn(0, "a", "failed"), warn(time.Second, "a", "failed"), warn(time.Second, "a", "failed"), warn(minute, "a", "failed"), warn(time.Second, "a", "failed")},
			want:  []string{`msg=failed config=a`, `msg=failed config=a suppressed=2`},
		},
		{
			name:  "burst passes at once",
			burst: 3,
			steps: []step{warn(0, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x"), warn(minute, "a", "x")},
			want:  []string{`msg=x config=a`, `msg=x config=a`, `msg=x config=a`, `msg=x config=a suppressed=2`},
		},
		{
			name:  "tokens come back one per interval",
			burst: 3,
			steps: []step{warn(0, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x"), warn(2*minute, "a", "x"), warn(0, "a", "x"), warn(0, "a", "x")},
			want:  []string{`msg=x config=a`, `msg=x config=a`, `msg=x config=a`, `msg=x config=a suppressed=1`, `msg=x config=a`},
		},
		{
			name:  "configs and messages are limited apart",
			burst: 1,
			steps: []step{warn(0, "a", "x"), warn(0, "b", "x"), warn(0, "a", "y"), warn(0, "a", "x"), warn(0, "b", "x")},
			want:  []string{`msg=x config=a`, `msg=x config=b`, `msg=y config=a`},
		},
		{
			name:  "records without a key pass",
			burst: 1,
			steps: []step{warn(0, "", "listening"), warn(0, "", "listening"), warn(0, "", "listening")},
			want:  []string{`msg=listening`, `msg=listening`, `msg=listening`},
		},
		{
			name:  "below the level, records pass",
			burst: 1,
			steps: []step{{0, "a", "attached", slog.LevelInfo}, {0, "a", "attached", slog.LevelInfo}},
			want:  []string{`msg=attached config=a`, `msg=attached config=a`},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			clk := &clock{time.Unix(1000, 0)}
			h := New(plainText(&buf), Options{Keys: []string{"config"}, Burst: tc.burst, Interval: minute, MinLevel: slog.LevelWarn, Now: clk.now})
			log := slog.New(h)
			for _, s := range tc.steps {
				clk.t = clk.t.Add(s.after)
				l := log
				if s.config != "" {
					l = log.With("config", s.config)
				}
				l.Log(t.Context(), s.level, s.msg)
			}
			if got := lines(&buf); strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("passed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// TestKeySources checks the key attributes count wherever they are given:
// by With, on the record, or not at all inside a group.
func TestKeySources(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{time.Unix(1000, 0)}
	log := slog.New(New(plainText(&buf), Options{Keys: []string{"config", "program"}, Burst: 1, Interval: time.Minute, Now: clk.now}))
	log.Error("attach failed", "config", "a", "program", "p1")
	log.Error("attach failed", "config", "a", "program", "p2") // another program: another key
	log.With("config", "a").Error("attach failed", "program", "p1")
	log.WithGroup("g").Error("attach failed", "config", "a", "program", "p1") // grouped: no key, passes
	want := []string{
		`msg="attach failed" config=a program=p1`,
		`msg="attach failed" config=a program=p2`,
		`msg="attach failed" g.config=a g.program=p1`,
	}
	if got := lines(&buf); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("passed:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestSweep checks keys back to a full allowance are forgotten, and the
// last record held back of a key that logs no more is passed late, at the
// next sweep, saying how many were held back before it: the count used to
// wait for the key's next record, for ever when it never came (a config
// fixed or removed), and its key was kept as long.
func TestSweep(t *testing.T) {
	var buf bytes.Buffer
	clk := &clock{time.Unix(1000, 0)}
	h := New(plainText(&buf), Options{Keys: []string{"config"}, Burst: 1, Interval: time.Minute, Now: clk.now})
	log := slog.New(h)
	for i := range 100 {
		log.Error("failed", "config", string(rune('a'+i%26))+strings.Repeat("x", i))
	}
	for i := range 4 {
		log.Error("held", "config", "keep", "n", i)
	}
	clk.t = clk.t.Add(30 * time.Second)
	log.Error("other", "config", "y") // before a token is back: nothing passes late
	if got := lines(&buf); got[len(got)-1] != `msg=other config=y` {
		t.Errorf("last line %q, want the record of y alone", got[len(got)-1])
	}
	clk.t = clk.t.Add(2 * time.Minute)
	log.Error("other", "config", "z")
	got := lines(&buf)
	if want := []string{`msg=held config=keep n=3 suppressed=2`, `msg=other config=z`}; !slices.Equal(got[len(got)-2:], want) {
		t.Errorf("last lines %q, want %q: the last held record, late, with the count, then z's", got[len(got)-2:], want)
	}
	if n := len(h.st.buckets); n != 2 { // "keep" (its token spent late) and "z"
		t.Errorf("%d keys after the sweep, want 2", n)
	}
	clk.t = clk.t.Add(2 * time.Minute)
	log.Error("other", "config", "z")
	if n := len(h.st.buckets); n != 1 {
		t.Errorf("%d keys after the next sweep, want 1 (z)", n)
	}
}

// plainText is a text handler without time and level.
func plainText(buf *bytes.Buffer) slog.Handler {
	return slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug, ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey) {
			return slog.Attr{}
		}
		return a
	}})
}

func lines(buf *bytes.Buffer) []string {
	s := strings.TrimSpace(buf.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
