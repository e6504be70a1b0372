package main

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// serverCPU reads the server's own CPU time from its /metrics
// (process_cpu_seconds_total). Sampled at the edges of the timed phase, it
// charges a scenario with what its measured requests cost the server, and
// not with the workers' preparation: the 16 sign-ins that open the refresh
// chains are argon2id hashes worth 4-9% of an 8 s refresh run.
type serverCPU struct {
	url    string
	client *http.Client
}

func (s serverCPU) seconds(ctx context.Context) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return 0, fmt.Errorf("server metrics: %w", err)
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("server metrics: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("server metrics: %s answered %d", s.url, res.StatusCode)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		return 0, fmt.Errorf("server metrics: %w", err)
	}
	f := families["process_cpu_seconds_total"]
	if f == nil || len(f.GetMetric()) != 1 {
		return 0, fmt.Errorf("server metrics: %s has no process_cpu_seconds_total", s.url)
	}
	return f.GetMetric()[0].GetCounter().GetValue(), nil
}
