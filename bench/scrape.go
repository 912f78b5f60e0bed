package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"time"
)

// sample is one scrape's cost, as seen from outside the process.
type sample struct {
	CPU   time.Duration // the process's time on CPU during the scrape
	Wall  time.Duration
	Mem   memory // after the scrape
	Bytes int64  // response body as sent (compressed when gzip)
}

// scraper fetches url from the ebpfmon process pid.
type scraper struct {
	client *http.Client
	url    string
	pid    int
}

func newScraper(url string, pid int) *scraper {
	// DisableCompression: the gzip case asks for it itself and counts
	// the compressed bytes.
	tr := &http.Transport{DisableCompression: true}
	return &scraper{client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, url: url, pid: pid}
}

// get fetches the body once, as it was sent.
func (s *scraper) get(gzip bool) ([]byte, error) {
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	if gzip {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", s.url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: read body: %w", s.url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: status %d: %s", s.url, resp.StatusCode, bytes.TrimSpace(body[:min(len(body), 200)]))
	}
	if gzip && resp.Header.Get("Content-Encoding") != "gzip" {
		return nil, fmt.Errorf("scrape %s: asked for gzip, got Content-Encoding %q", s.url, resp.Header.Get("Content-Encoding"))
	}
	return body, nil
}

// measure scrapes once and records the process's cost.
func (s *scraper) measure(gzip bool) (sample, error) {
	cpu0, err := readCPU(s.pid)
	if err != nil {
		return sample{}, err
	}
	start := time.Now()
	body, err := s.get(gzip)
	wall := time.Since(start)
	if err != nil {
		return sample{}, err
	}
	cpu1, err := readCPU(s.pid)
	if err != nil {
		return sample{}, err
	}
	mem, err := readMemory(s.pid)
	if err != nil {
		return sample{}, err
	}
	return sample{CPU: cpu1 - cpu0, Wall: wall, Mem: mem, Bytes: int64(len(body))}, nil
}

// countSamples counts the sample lines of metrics starting with prefix in
// a plain text exposition.
func countSamples(body []byte, prefix string) int {
	n := 0
	for line := range bytes.Lines(body) {
		if bytes.HasPrefix(line, []byte(prefix)) {
			n++
		}
	}
	return n
}
