package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// soak is one run against one ebpfmon.
type soak struct {
	o       options
	out     io.Writer
	configs []string
	own     map[string]string // family -> config
	scr     *scraper
	rel     *reloader
	bounds  bounds

	start     time.Time
	base      baseline
	samples   []sample
	scrapes   int
	reloads   int
	slowest   time.Duration
	last      families
	started   int // scrapes started
	inFlight  int
	busy      int // scrape ticks skipped: maxInFlight in flight
	reloading bool
	graceEnd  time.Time // the reloaded config's families may be missing until then
	settleEnd time.Time // no growth samples until then
}

// reloadDone is the outcome of one reload.
type reloadDone struct {
	how  trigger
	took time.Duration
	err  error
}

// newSoak reads the configs' families and sets up the scrapers.
func newSoak(o options, out io.Writer) (*soak, error) {
	configs := strings.Split(o.configs, ",")
	if !slices.Contains(configs, o.reloadConfig) {
		return nil, fmt.Errorf("-reload-config %s is not among -configs", o.reloadConfig)
	}
	own, err := owners(o.configDir, configs, o.namespace)
	if err != nil {
		return nil, err
	}
	scr := newScraper(o.url, o.scrapeTimeout)
	relScr := newScraper(o.url, o.scrapeTimeout) // the reload's own connection
	values := strings.Split(o.values, ",")
	rel := &reloader{
		dir: o.configDir, config: o.reloadConfig, constant: o.constant,
		values: [2]string{values[0], values[1]}, pid: o.pid,
		reloadURL: o.reloadURL, client: relScr.client, timeout: o.reloadTimeout,
		scrape: func(ctx context.Context) (families, error) {
			fams, _, err := relScr.scrape(ctx, true)
			return fams, err
		},
	}
	return &soak{
		o: o, out: out, configs: configs, own: own, scr: scr, rel: rel,
		bounds: bounds{rssKiB: int64(o.maxRSSMiB * 1024), fds: o.maxFDs, goroutines: o.maxGoroutines, window: o.window},
	}, nil
}

// maxInFlight is how many scrapes may be in flight at once: when ebpfmon
// (or the machine) is slow, up to this many overlap, as the scrapes of
// several Prometheus servers do, so that it keeps being asked the rate.
const maxInFlight = 4

// scraped is the outcome of one scrape.
type scraped struct {
	fams families
	took time.Duration
	err  error
}

// run soaks for the duration: it returns the first failure, after
// printing the figures so far.
func (s *soak) run(ctx context.Context) error {
	s.start = time.Now()
	scrapeTick := time.NewTicker(time.Second / time.Duration(s.o.rate))
	defer scrapeTick.Stop()
	secondTick := time.NewTicker(time.Second)
	defer secondTick.Stop()
	results := make(chan scraped, maxInFlight)
	done := make(chan reloadDone, 1)
	nextRow, nextReload := s.o.warmup, s.o.reloadAt
	fmt.Fprintf(s.out, "soak: %d configs, %d scrapes/s, a reload of %s every %s, for %s\n%s\n",
		len(s.configs), s.o.rate, s.o.reloadConfig, s.o.reloadEvery, s.o.duration, header)
	for {
		var err error
		select {
		case <-ctx.Done():
			return fmt.Errorf("interrupted at %s", s.since().Round(time.Second))
		case <-scrapeTick.C:
			s.startScrape(ctx, results)
		case r := <-results:
			s.inFlight--
			err = s.checkScrape(r)
		case r := <-done:
			err = s.reloaded(r)
		case <-secondTick.C:
			err = s.everySecond()
			at := s.since()
			if err == nil && at >= s.o.duration && !s.reloading {
				return s.finish()
			}
			if err == nil && at >= nextRow {
				err = s.printRow(at)
				nextRow = (at/time.Minute + 1) * time.Minute
			}
			if err == nil && !s.reloading && at >= nextReload && at+10*time.Second < s.o.duration {
				s.startReload(ctx, done)
				nextReload += s.o.reloadEvery
			}
		}
		if err != nil {
			if r, ok := s.row(s.since()); ok {
				fmt.Fprintf(s.out, "%s   (at the failure)\n", r)
			}
			return err
		}
	}
}

// since is the time since the soak started.
func (s *soak) since() time.Duration { return time.Since(s.start) }

// startScrape starts a scrape, gzip every other time, unless maxInFlight
// are in flight already (counted as busy).
func (s *soak) startScrape(ctx context.Context, results chan<- scraped) {
	if s.inFlight >= maxInFlight {
		s.busy++
		return
	}
	s.inFlight++
	withGzip := s.started%2 == 1
	s.started++
	go func() {
		fams, took, err := s.scr.scrape(ctx, withGzip)
		results <- scraped{fams: fams, took: took, err: err}
	}()
}

// checkScrape checks a scrape's outcome and its exposition.
func (s *soak) checkScrape(r scraped) error {
	if r.err != nil {
		return fmt.Errorf("scrape %d at %s: %w", s.scrapes+1, s.since().Round(time.Millisecond), r.err)
	}
	s.slowest = max(s.slowest, r.took)
	s.scrapes++
	s.last = r.fams
	grace := map[string]bool{s.o.reloadConfig: s.reloading || time.Now().Before(s.graceEnd)}
	if err := s.checkHealth(r.fams, grace); err != nil {
		return fmt.Errorf("scrape %d at %s: %w", s.scrapes, s.since().Round(time.Millisecond), err)
	}
	if s.base == nil {
		if s.since() >= s.o.warmup {
			return s.takeBaseline(r.fams)
		}
		return nil
	}
	if miss := s.base.missing(r.fams, grace); len(miss) > 0 {
		return fmt.Errorf("scrape %d at %s: metric families present at the start are missing (example: family): %s",
			s.scrapes, s.since().Round(time.Millisecond), strings.Join(miss, ", "))
	}
	return nil
}

// checkHealth checks ebpfmon's own word on every scrape: the last reload
// succeeded, every config is loaded and its maps were read. A config just
// reopened (in grace) may have no scrape_success yet: its new version has
// not been read by any scrape when the health metrics are collected.
func (s *soak) checkHealth(fams families, grace map[string]bool) error {
	if v, ok := fams.value("ebpfmon_config_last_reload_successful", nil); !ok || v != 1 {
		return fmt.Errorf("ebpfmon_config_last_reload_successful is %v (present: %t), want 1: a reload failed, see ebpfmon's log", v, ok)
	}
	for _, c := range s.configs {
		if v, ok := fams.value("ebpfmon_config_loaded", map[string]string{"config": c}); !ok || v != 1 {
			return fmt.Errorf("example %s: ebpfmon_config_loaded is %v (present: %t), want 1", c, v, ok)
		}
		if v, ok := fams.value("ebpfmon_scrape_success", map[string]string{"config": c}); (!ok && !grace[c]) || (ok && v != 1) {
			return fmt.Errorf("example %s: ebpfmon_scrape_success is %v (present: %t), want 1", c, v, ok)
		}
	}
	return nil
}

// takeBaseline makes the families of fams those that must stay. Every
// config must have some: its load reaches it.
func (s *soak) takeBaseline(fams families) error {
	s.base = newBaseline(fams, s.own)
	var none []string
	for _, c := range s.configs {
		if len(s.base[c]) == 0 {
			none = append(none, c)
		}
	}
	if len(none) > 0 {
		return fmt.Errorf("after the %s warm-up, no metric family of %s: the load generator does not reach them", s.o.warmup, strings.Join(none, ", "))
	}
	fmt.Fprintf(s.out, "baseline at %s: %d metric families (%d of the examples', %d of ebpfmon itself), %d samples\n",
		s.since().Round(time.Second), s.base.count(), s.base.count()-len(s.base[selfOwner]), len(s.base[selfOwner]), samples(fams))
	return nil
}

// everySecond checks both processes live and takes a growth sample.
func (s *soak) everySecond() error {
	if _, err := readProc(s.o.loadPID); err != nil {
		return fmt.Errorf("the load generator ended: %w", err)
	}
	p, err := readProc(s.o.pid)
	if err != nil {
		return fmt.Errorf("ebpfmon: %w", err)
	}
	if s.base == nil || s.reloading || time.Now().Before(s.settleEnd) || s.last == nil {
		return nil
	}
	g, ok := s.last.value("go_goroutines", nil)
	if !ok {
		return fmt.Errorf("no go_goroutines in the last scrape")
	}
	s.samples = append(s.samples, sample{at: s.since(), rssKiB: p.rssKiB, fds: p.fds, goroutines: g})
	return nil
}

// startReload runs the next reload in its own goroutine: scrapes go on.
func (s *soak) startReload(ctx context.Context, done chan<- reloadDone) {
	s.reloading = true
	n := s.reloads
	go func() {
		how, took, err := s.rel.reload(ctx, n)
		done <- reloadDone{how: how, took: took, err: err}
	}()
}

// reloaded records a reload's outcome.
func (s *soak) reloaded(r reloadDone) error {
	s.reloading = false
	if r.err != nil {
		return r.err
	}
	s.reloads++
	s.graceEnd = time.Now().Add(s.o.grace)
	s.settleEnd = time.Now().Add(s.o.settle)
	fmt.Fprintf(s.out, "reload %d at %s: %s, %s reopened with %s=%s, served after %s\n", s.reloads,
		s.since().Round(time.Second), r.how, s.o.reloadConfig, s.o.constant, s.rel.values[s.reloads%2], r.took.Round(time.Millisecond))
	return nil
}

// row is the figures now; false when ebpfmon cannot be read.
func (s *soak) row(at time.Duration) (row, bool) {
	p, err := readProc(s.o.pid)
	if err != nil {
		return row{}, false
	}
	r := row{at: at, p: p, scrapes: s.scrapes, reloads: s.reloads, scrapeMax: s.slowest}
	if s.last != nil {
		r.goroutines, _ = s.last.value("go_goroutines", nil)
		r.openFDs, _ = s.last.value("process_open_fds", nil)
		r.series = samples(s.last)
	}
	return r, true
}

// printRow prints the figures now and starts a new slowest-scrape period.
func (s *soak) printRow(at time.Duration) error {
	r, ok := s.row(at)
	if !ok {
		return fmt.Errorf("ebpfmon: cannot read /proc/%d", s.o.pid)
	}
	fmt.Fprintln(s.out, r)
	s.slowest = 0
	return nil
}

// finish prints the last figures and checks the growth.
func (s *soak) finish() error {
	if err := s.printRow(s.since()); err != nil {
		return err
	}
	report, over, err := s.bounds.growth(s.samples)
	if err != nil {
		return err
	}
	fmt.Fprintf(s.out, "%d scrapes (%.1f/s; %d ticks found %d in flight), %d reloads; growth (%d samples, reloads left out):\n  %s\n",
		s.scrapes, float64(s.scrapes)/s.since().Seconds(), s.busy, maxInFlight, s.reloads, len(s.samples), strings.Join(report, "\n  "))
	if len(over) > 0 {
		return fmt.Errorf("growth beyond the bounds:\n  %s", strings.Join(over, "\n  "))
	}
	return nil
}
