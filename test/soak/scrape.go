package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// promAccept is the Accept header of a Prometheus scrape (its default
// scrape protocols): ebpfmon does not offer OpenMetrics, so it answers
// with the text format.
const promAccept = "application/openmetrics-text;version=1.0.0;q=0.5," +
	"application/openmetrics-text;version=0.0.1;q=0.4," +
	"text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

// families is one parsed scrape: metric family name to family.
type families map[string]*dto.MetricFamily

// scraper GETs /metrics as Prometheus does.
type scraper struct {
	client *http.Client
	url    string
}

// newScraper returns a scraper of url over one kept-alive connection, as
// a Prometheus target has. Compression is handled by hand so that the
// Content-Encoding of each answer can be checked.
func newScraper(url string, timeout time.Duration) *scraper {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: 2}
	return &scraper{client: &http.Client{Transport: tr, Timeout: timeout}, url: url}
}

// scrape fetches and parses one exposition; withGzip asks for a gzip body.
// Anything but a 200 with a body of the text format, in the encoding
// asked for, that parses whole, is an error. took is the time of the HTTP
// exchange, up to the last byte of the body (the parsing left out).
func (s *scraper) scrape(ctx context.Context, withGzip bool) (fams families, took time.Duration, err error) {
	t0 := time.Now()
	body, err := s.fetch(ctx, withGzip)
	took = time.Since(t0)
	if err != nil {
		return nil, took, err
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err = p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, took, fmt.Errorf("scrape %s (gzip %t): body does not parse: %w", s.url, withGzip, err)
	}
	return fams, took, nil
}

// fetch GETs one exposition and returns its body, decompressed.
func (s *scraper) fetch(ctx context.Context, withGzip bool) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	req.Header.Set("Accept", promAccept)
	req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	enc := "identity"
	if withGzip {
		enc = "gzip"
	}
	req.Header.Set("Accept-Encoding", enc)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s (%s): %w", s.url, enc, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("scrape %s (%s): HTTP %s: %q", s.url, enc, resp.Status, head)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		return nil, fmt.Errorf("scrape %s (%s): Content-Type %q, want text/plain (the text format)", s.url, enc, ct)
	}
	r, err := decoded(resp, withGzip)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	body, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("scrape %s (%s): reading the body: %w", s.url, enc, err)
	}
	return body, nil
}

// decoded is the body of resp, checked to be in the encoding asked for.
func decoded(resp *http.Response, withGzip bool) (io.Reader, error) {
	ce := resp.Header.Get("Content-Encoding")
	switch {
	case withGzip && ce == "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("gzip body: %w", err)
		}
		return zr, nil
	case withGzip:
		return nil, fmt.Errorf("asked for gzip, got Content-Encoding %q", ce)
	case ce != "" && ce != "identity":
		return nil, fmt.Errorf("asked for identity, got Content-Encoding %q", ce)
	}
	return resp.Body, nil
}

// value is the value of the sample of family name whose labels include
// match (a gauge, counter or untyped sample); false when there is none.
func (f families) value(name string, match map[string]string) (float64, bool) {
	mf, ok := f[name]
	if !ok {
		return 0, false
	}
	for _, m := range mf.GetMetric() {
		if !labelsMatch(m, match) {
			continue
		}
		switch {
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue(), true
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue(), true
		case m.GetUntyped() != nil:
			return m.GetUntyped().GetValue(), true
		}
	}
	return 0, false
}

// each calls fn with the labels and value of every gauge sample of family
// name.
func (f families) each(name string, fn func(labels map[string]string, v float64)) {
	for _, m := range f[name].GetMetric() {
		labels := make(map[string]string, len(m.GetLabel()))
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		fn(labels, m.GetGauge().GetValue())
	}
}

// labelsMatch tells whether m has every label of match with its value.
func labelsMatch(m *dto.Metric, match map[string]string) bool {
	n := 0
	for _, l := range m.GetLabel() {
		if v, ok := match[l.GetName()]; ok && v == l.GetValue() {
			n++
		}
	}
	return n == len(match)
}
