package server_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"
)

// TestThrottleBurst: parallel guesses at one account can't all slip past
// the throttle check before the first failure is recorded; only the free
// attempts are judged, the rest get 429.
func TestThrottleBurst(t *testing.T) {
	h := newHarness(t, config{})
	const burst = 30
	statuses := make([]int, burst)
	var wg sync.WaitGroup
	for i := range burst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.form("/oauth2/token", mobileClient, url.Values{
				"grant_type": {"password"}, "username": {aliceEmail}, "password": {"wrong guess"}})
			statuses[i] = r.Status
		}()
	}
	wg.Wait()
	judged, throttled := 0, 0
	for _, s := range statuses {
		switch s {
		case http.StatusBadRequest:
			judged++
		case http.StatusTooManyRequests:
			throttled++
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	// Five free failures, then the sixth is judged and sets the first wait.
	if judged > 6 {
		t.Errorf("%d of %d parallel guesses were judged, want at most 6 (the rest throttled)", judged, burst)
	}
	if throttled != burst-judged {
		t.Errorf("%d throttled, want %d", throttled, burst-judged)
	}
}
