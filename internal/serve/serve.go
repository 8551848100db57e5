// Package serve is duo serve's HTTP API: OpenAI-shaped completions from a
// Duo model, streamed one denoising step at a time as server-sent events,
// with a browser page that shows the text emerging from the noise.
//
// Requests wait in a bounded queue for a worker (a full queue answers 503
// with Retry-After); a worker runs one request, or with Config.Batch the
// queued requests whose shapes match together, in one sampler batch (every
// row keeps its own random stream, so a seed gives the same text alone or
// batched). A client that goes away cancels its work between steps.
package serve

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/duo-go/duo/duo"
)

// Config configures a Server. Zero limits take the defaults below.
type Config struct {
	Model     *duo.Model
	Name      string // the model's id in /v1/models and responses
	Workers   int    // requests sampled at once (default 1: the engine uses every core)
	Queue     int    // requests waiting beyond the workers' (default 16)
	Batch     bool   // sample queued requests of the same shape in one batch
	MaxRows   int    // rows of one batch (default 32)
	MaxN      int    // samples per request (default 16)
	MaxSteps  int    // denoising steps per request (default 1024)
	MaxBody   int64  // request body bytes (default 1 MiB)
	AccessLog io.Writer
}

// Server is the HTTP handler of duo serve. Close stops its workers.
type Server struct {
	cfg     Config
	mux     *http.ServeMux
	mu      sync.Mutex
	pending []*job        // the queue, oldest first (guarded by mu)
	notify  chan struct{} // a job was queued
	wg      sync.WaitGroup
	stop    chan struct{}
	ids     atomic.Int64
	running atomic.Int64
	served  atomic.Int64 // requests answered by a worker
	batches atomic.Int64 // sampler runs
}

// New starts the workers of a server for cfg.Model.
func New(cfg Config) (*Server, error) {
	if cfg.Model == nil || cfg.Model.Tokenizer == nil {
		return nil, errors.New("serve: a model with a tokenizer is needed")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.Workers, 1)
	def(&cfg.Queue, 16)
	def(&cfg.MaxRows, 32)
	def(&cfg.MaxN, 16)
	def(&cfg.MaxSteps, 1024)
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = 1 << 20
	}
	if cfg.Name == "" {
		cfg.Name = "duo"
	}
	if cfg.AccessLog == nil {
		cfg.AccessLog = io.Discard
	}
	s := &Server{cfg: cfg, mux: http.NewServeMux(), notify: make(chan struct{}, 1), stop: make(chan struct{})}
	s.mux.HandleFunc("POST /v1/completions", s.completions)
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /healthz", s.health)
	s.mux.HandleFunc("GET /{$}", s.page)
	for range cfg.Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s, nil
}

// Close stops the workers after the batches under way; queued requests are
// answered 503.
func (s *Server) Close() {
	close(s.stop)
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, j := range s.pending {
		j.done <- result{err: errShutdown}
	}
	s.pending = nil
}

var errShutdown = errors.New("the server is shutting down")

// ServeHTTP serves the API with an access log line per request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	begin := time.Now()
	lw := &logWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		if v := recover(); v != nil { // a bug must not take the server down
			if !lw.wrote {
				writeError(lw, http.StatusInternalServerError, "", fmt.Sprintf("internal error: %v", v))
			}
			lw.status = http.StatusInternalServerError
		}
		fmt.Fprintf(s.cfg.AccessLog, "%s %s %s %d %s %d tokens\n", begin.Format(time.RFC3339), r.Method, r.URL.Path, lw.status,
			time.Since(begin).Round(time.Microsecond), lw.tokens)
	}()
	s.mux.ServeHTTP(lw, r)
}

// logWriter records what the access log says of a response.
type logWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
	tokens int
}

func (w *logWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *logWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Flush sends what was written (server-sent events).
func (w *logWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// CompletionRequest is the body of POST /v1/completions: OpenAI's fields,
// with steps and sampler as extensions.
type CompletionRequest struct {
	Model       string   `json:"model"`
	Prompt      string   `json:"prompt"`
	MaxTokens   *int     `json:"max_tokens"` // tokens after the prompt (default: the rest of the model's length)
	N           *int     `json:"n"`
	Seed        *uint64  `json:"seed"`
	TopP        *float64 `json:"top_p"`
	Temperature *float64 `json:"temperature"` // AR models
	Stream      bool     `json:"stream"`
	User        string   `json:"user"`
	Steps       *int     `json:"steps"`   // denoising steps (default 64)
	Sampler     string   `json:"sampler"` // final noise removal: ancestral (default), greedy or none
}

// Completion is the response of POST /v1/completions, and the last event
// of a stream.
type Completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"` // "text_completion"
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []Choice `json:"choices"`
	Usage   Usage    `json:"usage"`
}

// Choice is one sample: the text after the prompt.
type Choice struct {
	Index        int    `json:"index"`
	Text         string `json:"text"`
	FinishReason string `json:"finish_reason,omitempty"` // "length"
}

// Usage counts tokens: the prompt's once per request, the completions'.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// StepEvent is one event of a stream: every sample's whole current text
// after a denoising step.
type StepEvent struct {
	ID        string   `json:"id"`
	Object    string   `json:"object"` // "text_completion.step"
	Step      int      `json:"step"`   // 1 .. Steps
	Steps     int      `json:"steps"`  // denoising steps (the final noise removal comes with the completion)
	T         float64  `json:"t"`      // the time reached (1: noise, 0: clean)
	ElapsedMS float64  `json:"elapsed_ms"`
	Choices   []Choice `json:"choices"`
}

// job is a request waiting for or in a worker.
type job struct {
	ctx    context.Context
	opt    duo.GenerateOptions
	cfg    duo.SampleConfig // the sampler configuration of opt
	prompt int              // prompt tokens
	events chan StepEvent   // nil: not streamed
	done   chan result      // one result
	id     string
	begin  time.Time
}

type result struct {
	texts [][]int32
	err   error
}

// completions answers POST /v1/completions.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req CompletionRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, "", fmt.Sprintf("the body is over %d bytes", s.cfg.MaxBody))
			return
		}
		field := ""
		if f, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			field = strings.Trim(f, `"`)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			field = typ.Field
		}
		writeError(w, http.StatusBadRequest, field, "bad JSON: "+err.Error())
		return
	}
	j, field, err := s.newJob(r.Context(), req)
	if err != nil {
		writeError(w, http.StatusBadRequest, field, err.Error())
		return
	}
	if req.Stream {
		j.events = make(chan StepEvent, min(j.cfg.Steps, 64))
	}
	if !s.enqueue(j) {
		w.Header().Set("Retry-After", "1")
		writeError(w, http.StatusServiceUnavailable, "", fmt.Sprintf("the queue is full (%d waiting); retry later", s.cfg.Queue))
		return
	}
	if lw, ok := w.(*logWriter); ok {
		defer func() { lw.tokens = j.cfg.Batch * (j.cfg.Length - j.prompt) }()
	}
	if !req.Stream {
		res := <-j.done
		if res.err != nil {
			writeRunError(w, r, res.err)
			return
		}
		writeJSON(w, http.StatusOK, s.completion(j, res.texts))
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	flush()
	for {
		select {
		case ev := <-j.events:
			writeEvent(w, ev)
			flush()
		case res := <-j.done:
			for len(j.events) > 0 {
				writeEvent(w, <-j.events)
			}
			if res.err != nil {
				writeEvent(w, errorBody(res.err.Error(), ""))
			} else {
				writeEvent(w, s.completion(j, res.texts))
			}
			io.WriteString(w, "data: [DONE]\n\n")
			flush()
			return
		}
	}
}

// newJob validates a request into a job, naming the bad field.
func (s *Server) newJob(ctx context.Context, req CompletionRequest) (*job, string, error) {
	m := s.cfg.Model
	opt := duo.GenerateOptions{Prompt: req.Prompt, N: 1, Steps: 64, Sampler: req.Sampler, TopP: 1, Seed: uint64(time.Now().UnixNano())}
	prompt := len(m.Tokenizer.Encode(req.Prompt))
	if prompt >= m.Net.Length {
		return nil, "prompt", fmt.Errorf("the prompt is %d tokens; the model's length is %d", prompt, m.Net.Length)
	}
	opt.Length = m.Net.Length
	if req.MaxTokens != nil {
		if *req.MaxTokens < 1 || *req.MaxTokens > m.Net.Length-prompt {
			return nil, "max_tokens", fmt.Errorf("max_tokens %d outside [1, %d] (the model's length %d less the prompt's %d tokens)", *req.MaxTokens, m.Net.Length-prompt, m.Net.Length, prompt)
		}
		opt.Length = prompt + *req.MaxTokens
	}
	if req.N != nil {
		if *req.N < 1 || *req.N > s.cfg.MaxN {
			return nil, "n", fmt.Errorf("n %d outside [1, %d]", *req.N, s.cfg.MaxN)
		}
		opt.N = *req.N
	}
	if req.Steps != nil {
		if *req.Steps < 1 || *req.Steps > s.cfg.MaxSteps {
			return nil, "steps", fmt.Errorf("steps %d outside [1, %d]", *req.Steps, s.cfg.MaxSteps)
		}
		opt.Steps = *req.Steps
	}
	if req.TopP != nil {
		if !(*req.TopP > 0 && *req.TopP <= 1) {
			return nil, "top_p", fmt.Errorf("top_p %g outside (0, 1]", *req.TopP)
		}
		opt.TopP = *req.TopP
	}
	if req.Temperature != nil {
		if !(*req.Temperature >= 0 && *req.Temperature <= 100) {
			return nil, "temperature", fmt.Errorf("temperature %g outside [0, 100]", *req.Temperature)
		}
		opt.Temperature = *req.Temperature
		if *req.Temperature == 0 && m.Net.Causal {
			opt.Sampler = duo.SamplerGreedy
		}
	}
	switch req.Sampler {
	case "", duo.SamplerAncestral, duo.SamplerGreedy, duo.SamplerNone:
	default:
		return nil, "sampler", fmt.Errorf("sampler %q: want ancestral, greedy or none", req.Sampler)
	}
	if req.Seed != nil {
		opt.Seed = *req.Seed
	}
	if req.Model != "" && req.Model != s.cfg.Name {
		return nil, "model", fmt.Errorf("model %q: this server serves %q", req.Model, s.cfg.Name)
	}
	cfg, err := m.SampleConfig(opt)
	if err != nil {
		return nil, "", err
	}
	if cfg.Seeds == nil {
		cfg.Seeds = duo.RowSeeds(opt.Seed, cfg.Batch)
	}
	id := fmt.Sprintf("cmpl-%d", s.ids.Add(1))
	return &job{ctx: ctx, opt: opt, cfg: cfg, prompt: prompt, done: make(chan result, 1), id: id, begin: time.Now()}, "", nil
}

// completion is the response for a job's finished rows.
func (s *Server) completion(j *job, rows [][]int32) Completion {
	c := Completion{ID: j.id, Object: "text_completion", Created: j.begin.Unix(), Model: s.cfg.Name}
	for i, ids := range rows {
		c.Choices = append(c.Choices, Choice{Index: i, Text: s.cfg.Model.Tokenizer.Decode(ids[j.prompt:]), FinishReason: "length"})
		c.Usage.CompletionTokens += len(ids) - j.prompt
	}
	c.Usage.PromptTokens = j.prompt
	c.Usage.TotalTokens = c.Usage.PromptTokens + c.Usage.CompletionTokens
	return c
}

// models answers GET /v1/models.
func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	n := s.cfg.Model.Net
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": []map[string]any{{
		"id": s.cfg.Name, "object": "model", "owned_by": "duo-go",
		"objective": s.cfg.Model.Info.Objective, "length": n.Length, "vocab_size": n.Vocab, "parameters": n.NumParams(),
	}}})
}

// health answers GET /healthz with the queue's state.
func (s *Server) health(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "queued": s.Queued(), "running": s.running.Load(), "served": s.served.Load(), "batches": s.batches.Load()})
}

//go:embed page.html
var pageFS embed.FS

// page answers GET / with the browser view.
func (s *Server) page(w http.ResponseWriter, r *http.Request) {
	b, _ := pageFS.ReadFile("page.html")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(b)
}

// Queued returns the number of requests waiting for a worker.
func (s *Server) Queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending)
}

// Running returns the number of requests being sampled.
func (s *Server) Running() int { return int(s.running.Load()) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func writeEvent(w io.Writer, v any) {
	b, _ := json.Marshal(v)
	fmt.Fprintf(w, "data: %s\n\n", b)
}

// errorBody is OpenAI's error object.
func errorBody(msg, param string) map[string]any {
	e := map[string]any{"message": msg, "type": "invalid_request_error"}
	if param != "" {
		e["param"] = param
	}
	return map[string]any{"error": e}
}

func writeError(w http.ResponseWriter, code int, param, msg string) {
	writeJSON(w, code, errorBody(msg, param))
}

// writeRunError answers a request whose sampling failed.
func writeRunError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, errShutdown):
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "", err.Error())
	case r.Context().Err() != nil: // the client is gone: nobody reads this
		writeError(w, 499, "", err.Error())
	default:
		writeError(w, http.StatusInternalServerError, "", err.Error())
	}
}
