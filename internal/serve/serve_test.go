package serve

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/duo-go/duo/duo"
	"github.com/duo-go/duo/nn"
	"github.com/duo-go/duo/tensor"
)

// testModel saves and opens a random byte-level Duo model of length L and
// width D.
func testModel(t *testing.T, L, D int) *duo.Model {
	t.Helper()
	net, err := nn.NewDiT(nn.Config{Vocab: 256, Length: L, Hidden: D, Cond: 8, Blocks: 1, Heads: 2, MLPRatio: 2}, tensor.NewRNG(4))
	if err != nil {
		t.Fatal(err)
	}
	rng := tensor.NewRNG(5)
	for _, p := range net.Params() {
		rng.Uniform(p.Value, -0.3, 0.3)
	}
	dir := t.TempDir()
	if err := nn.SaveDiT(dir, net, map[string]any{"objective": "duo", "tokenizer": "bytes"}, nil); err != nil {
		t.Fatal(err)
	}
	m, err := duo.Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// start serves cfg (the small test model unless cfg has one) on loopback.
func start(t *testing.T, cfg Config) (*Server, *httptest.Server) {
	t.Helper()
	if cfg.Model == nil {
		cfg.Model = testModel(t, 32, 16)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

func post(t *testing.T, ctx context.Context, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, "POST", url+"/v1/completions", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return http.DefaultClient.Do(req)
}

func complete(t *testing.T, url, body string) Completion {
	t.Helper()
	resp, err := post(t, context.Background(), url, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
	}
	var c Completion
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// events reads a stream's data lines.
func events(t *testing.T, r io.Reader) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// A completion has OpenAI's shape; a seed gives the same text every time
// (streamed or not); a stream is one event per denoising step with every
// sample's whole text, then the completion, then [DONE].
func TestCompletions(t *testing.T) {
	_, ts := start(t, Config{Name: "tiny"})
	c := complete(t, ts.URL, `{"prompt": "To be", "n": 2, "steps": 5, "seed": 7, "max_tokens": 20}`)
	if c.Object != "text_completion" || c.Model != "tiny" || len(c.Choices) != 2 || c.Usage != (Usage{5, 40, 45}) {
		t.Errorf("completion %+v", c)
	}
	for i, ch := range c.Choices {
		if ch.Index != i || ch.Text == "" || ch.FinishReason != "length" {
			t.Errorf("choice %d: %+v", i, ch)
		}
	}
	if again := complete(t, ts.URL, `{"prompt": "To be", "n": 2, "steps": 5, "seed": 7, "max_tokens": 20}`); again.Choices[1].Text != c.Choices[1].Text {
		t.Errorf("seed 7 twice: %q then %q", c.Choices[1].Text, again.Choices[1].Text)
	}
	if other := complete(t, ts.URL, `{"prompt": "To be", "n": 2, "steps": 5, "seed": 8, "max_tokens": 20}`); other.Choices[0].Text == c.Choices[0].Text {
		t.Errorf("seeds 7 and 8 gave the same text %q", c.Choices[0].Text)
	}

	resp, err := post(t, context.Background(), ts.URL, `{"prompt": "To be", "n": 2, "steps": 5, "seed": 7, "max_tokens": 20, "stream": true}`)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("stream content type %q", ct)
	}
	evs := events(t, resp.Body)
	if len(evs) != 5+2 || evs[6] != "[DONE]" {
		t.Fatalf("%d events (want 5 steps, the completion, [DONE]): %q", len(evs), evs)
	}
	for i, e := range evs[:5] {
		var ev StepEvent
		if err := json.Unmarshal([]byte(e), &ev); err != nil || ev.Object != "text_completion.step" || ev.Step != i+1 || ev.Steps != 5 || len(ev.Choices) != 2 || ev.Choices[0].Text == "" {
			t.Errorf("event %d: %s (%v)", i, e, err)
		}
	}
	var final Completion
	if err := json.Unmarshal([]byte(evs[5]), &final); err != nil || final.Choices[1].Text != c.Choices[1].Text {
		t.Errorf("streamed completion %s, want the text %q (%v)", evs[5], c.Choices[1].Text, err)
	}

	var models struct {
		Data []struct{ ID string }
	}
	r, err := http.Get(ts.URL + "/v1/models")
	if err == nil {
		err = json.NewDecoder(r.Body).Decode(&models)
		r.Body.Close()
	}
	if err != nil || len(models.Data) != 1 || models.Data[0].ID != "tiny" {
		t.Errorf("/v1/models: %+v, %v", models, err)
	}
	for _, path := range []string{"/healthz", "/"} {
		r, err := http.Get(ts.URL + path)
		if err != nil || r.StatusCode != 200 {
			t.Errorf("GET %s: %v %v", path, r.Status, err)
		}
		r.Body.Close()
	}
}

// Bad requests answer 400 naming the field (413 for a body over the limit,
// 405 for another method); the server keeps serving.
func TestBadRequests(t *testing.T) {
	_, ts := start(t, Config{Name: "tiny", MaxBody: 200, MaxN: 4, MaxSteps: 50})
	for _, tc := range []struct {
		body  string
		code  int
		param string
	}{
		{`{"prompt": "a"`, 400, ""},
		{`{"prompt": 3}`, 400, "prompt"},
		{`{"prompt": "a", "stepz": 3}`, 400, "stepz"},
		{`{"n": 0}`, 400, "n"},
		{`{"n": 5}`, 400, "n"},
		{`{"steps": 51}`, 400, "steps"},
		{`{"steps": -1}`, 400, "steps"},
		{`{"max_tokens": 0}`, 400, "max_tokens"},
		{`{"prompt": "abc", "max_tokens": 30}`, 400, "max_tokens"},
		{`{"prompt": "` + strings.Repeat("x", 32) + `"}`, 400, "prompt"},
		{`{"top_p": 1.5}`, 400, "top_p"},
		{`{"top_p": 0}`, 400, "top_p"},
		{`{"temperature": -1}`, 400, "temperature"},
		{`{"sampler": "best"}`, 400, "sampler"},
		{`{"model": "gpt-4"}`, 400, "model"},
		{`{"prompt": "` + strings.Repeat("y", 300) + `"}`, 413, ""},
	} {
		resp, err := post(t, context.Background(), ts.URL, tc.body)
		if err != nil {
			t.Fatal(err)
		}
		var e struct {
			Error struct{ Message, Param string }
		}
		json.NewDecoder(resp.Body).Decode(&e)
		resp.Body.Close()
		if resp.StatusCode != tc.code || e.Error.Param != tc.param || e.Error.Message == "" {
			t.Errorf("%.40s: %d param %q (%q); want %d param %q", tc.body, resp.StatusCode, e.Error.Param, e.Error.Message, tc.code, tc.param)
		}
	}
	if r, err := http.Get(ts.URL + "/v1/completions"); err != nil || r.StatusCode != 405 {
		t.Errorf("GET /v1/completions: %v %v", r.Status, err)
	}
	complete(t, ts.URL, `{"steps": 2}`)
}

func health(t *testing.T, url string) (queued, running, batches int) {
	t.Helper()
	r, err := http.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var h struct{ Queued, Running, Batches int }
	json.NewDecoder(r.Body).Decode(&h)
	return h.Queued, h.Running, h.Batches
}

// waitFor polls until cond holds (or fails the test after 30 s).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// With one worker and a queue of one, a third request is answered 503 with
// Retry-After; a client that goes away frees the worker for the next one.
func TestQueueFullAndCancel(t *testing.T) {
	_, ts := start(t, Config{Model: testModel(t, 64, 64), Workers: 1, Queue: 1, MaxSteps: 1 << 20})
	long := `{"steps": 1000000, "stream": true}`
	ctxA, cancelA := context.WithCancel(context.Background())
	respA, err := post(t, ctxA, ts.URL, long)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(respA.Body)
	if _, err := br.ReadString('\n'); err != nil { // the first step: A runs
		t.Fatal(err)
	}
	ctxB, cancelB := context.WithCancel(context.Background())
	defer cancelB()
	bDone := make(chan int, 1)
	go func() {
		resp, err := post(t, ctxB, ts.URL, long)
		if err != nil {
			bDone <- -1
			return
		}
		io.ReadAll(resp.Body)
		resp.Body.Close()
		bDone <- resp.StatusCode
	}()
	waitFor(t, "B queued", func() bool { q, r, _ := health(t, ts.URL); return q == 1 && r == 1 })
	resp, err := post(t, context.Background(), ts.URL, `{"steps": 2}`)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a request over a full queue: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	cancelA() // A's client goes away: the worker takes B
	respA.Body.Close()
	waitFor(t, "B running", func() bool { q, r, _ := health(t, ts.URL); return q == 0 && r == 1 })
	cancelB()
	<-bDone
	waitFor(t, "the worker idle", func() bool { q, r, _ := health(t, ts.URL); return q == 0 && r == 0 })
	complete(t, ts.URL, `{"steps": 2}`)
}

// Requests of the same shape queued together are sampled in one batch, and
// each gets the text it gets alone.
func TestBatching(t *testing.T) {
	m := testModel(t, 64, 64)
	_, alone := start(t, Config{Model: m, Batch: false})
	_, ts := start(t, Config{Model: m, Batch: true, Workers: 1, MaxSteps: 1 << 20})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := post(t, ctx, ts.URL, `{"steps": 1000000, "stream": true}`) // holds the worker
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(resp.Body).ReadString('\n')
	bodies := []string{
		`{"prompt": "ab", "steps": 6, "seed": 1, "max_tokens": 30}`,
		`{"prompt": "xyz", "steps": 6, "seed": 2, "n": 2, "max_tokens": 29}`,
		`{"steps": 6, "seed": 3, "max_tokens": 32, "stream": true}`,
	}
	got := make([][]string, len(bodies))
	var wg sync.WaitGroup
	for i, b := range bodies {
		wg.Go(func() {
			if strings.Contains(b, "stream") {
				resp, err := post(t, context.Background(), ts.URL, b)
				if err != nil {
					t.Error(err)
					return
				}
				evs := events(t, resp.Body)
				resp.Body.Close()
				var c Completion
				json.Unmarshal([]byte(evs[len(evs)-2]), &c)
				got[i] = []string{c.Choices[0].Text}
				return
			}
			for _, ch := range complete(t, ts.URL, b).Choices {
				got[i] = append(got[i], ch.Text)
			}
		})
	}
	waitFor(t, "3 requests queued", func() bool { q, _, _ := health(t, ts.URL); return q == 3 })
	_, _, before := health(t, ts.URL)
	cancel()
	resp.Body.Close()
	wg.Wait()
	if _, _, after := health(t, ts.URL); after != before+1 {
		t.Errorf("3 queued requests of one shape ran in %d batches, want 1", after-before)
	}
	for i, b := range bodies {
		want := complete(t, alone.URL, strings.Replace(b, `, "stream": true`, "", 1))
		for j, ch := range want.Choices {
			if j >= len(got[i]) || got[i][j] != ch.Text {
				t.Errorf("request %d sample %d: batched %q, alone %q", i, j, got[i], ch.Text)
			}
		}
	}
}

// 32 clients for a while against two workers and a small queue: every
// request is answered 200 or 503, none is lost or hangs, and the server's
// goroutines and heap come back down.
func TestLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("a load test (2 s)")
	}
	s, ts := start(t, Config{Workers: 2, Queue: 8, Batch: true}) // two workers: concurrent calls of one model
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	heap0, g0 := ms.HeapAlloc, runtime.NumGoroutine()
	client := &http.Client{Timeout: 30 * time.Second}
	var mu sync.Mutex
	codes := map[int]int{}
	end := time.Now().Add(2 * time.Second)
	var wg sync.WaitGroup
	for c := range 32 {
		wg.Go(func() {
			for i := 0; time.Now().Before(end); i++ {
				body := fmt.Sprintf(`{"steps": %d, "seed": %d, "stream": %v}`, 4+c%3, i, c%2 == 0)
				resp, err := client.Post(ts.URL+"/v1/completions", "application/json", bytes.NewReader([]byte(body)))
				code := -1
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					code = resp.StatusCode
				}
				mu.Lock()
				codes[code]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	t.Logf("responses by status: %v", codes)
	bad := 0
	for code, n := range codes {
		if code != 200 && code != 503 {
			bad += n
		}
	}
	if codes[200] == 0 || bad > 0 {
		t.Errorf("responses by status %v: want only 200 and 503, some 200", codes)
	}
	waitFor(t, "the queue drained", func() bool { return s.Queued() == 0 && s.Running() == 0 })
	ts.CloseClientConnections()
	waitFor(t, "goroutines back", func() bool { return runtime.NumGoroutine() <= g0+4 })
	runtime.GC()
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > heap0+64<<20 {
		t.Errorf("heap %d MB after the load, %d MB before", ms.HeapAlloc>>20, heap0>>20)
	}
}
