package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/duo-go/duo/duo"
)

// findBrowser returns the path of a Chromium or Chrome binary, or "".
func findBrowser() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// The page in a real browser (headless Chromium, driven by chromedp): type a
// prompt, pick the steps, submit, and watch the text change over the steps
// until the final text; a screenshot is saved (DUO_SCREENSHOT names the file,
// else the test's temporary directory). Without a browser the test skips,
// unless DUO_REQUIRE_BROWSER=1 (CI) makes that a failure.
// DUO_SERVE_CHECKPOINT serves a model directory instead of the random one.
func TestBrowserPage(t *testing.T) {
	browser := findBrowser()
	if browser == "" {
		if os.Getenv("DUO_REQUIRE_BROWSER") == "1" {
			t.Fatal("DUO_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)")
		}
		t.Skip("no chromium on PATH (apt-get install chromium); DUO_REQUIRE_BROWSER=1 makes this a failure")
	}
	cfg := Config{Name: "tiny"}
	if dir := os.Getenv("DUO_SERVE_CHECKPOINT"); dir != "" {
		m, err := duo.Open(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Model, cfg.Name = m, filepath.Base(dir)
	}
	_, ts := start(t, cfg)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.WindowSize(1000, 760))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	// Record every text the output shows, as the page changes it.
	const observe = `window.__seen = [];
new MutationObserver(() => { const o = document.getElementById("out");
  window.__seen.push([o.dataset.step || "", o.textContent]); })
  .observe(document.getElementById("out"), {childList: true, subtree: true, characterData: true, attributes: true});
true`
	const steps = "12"
	err := chromedp.Do(ctx, chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.ID("go")))
	if err == nil {
		_, err = chromedp.Run(ctx, chromedp.Evaluate[bool](observe))
	}
	if err != nil {
		t.Fatal(err)
	}
	err = chromedp.Do(ctx,
		chromedp.SetValue(chromedp.ID("prompt"), "To be"),
		chromedp.SetValue(chromedp.ID("steps"), steps),
		chromedp.Click(chromedp.ID("go")),
		chromedp.WaitVisible(chromedp.CSS(`#out[data-step="final"]`)),
	)
	if err != nil {
		t.Fatal(err)
	}
	seen, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`window.__seen`))
	if err != nil {
		t.Fatal(err)
	}
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("status")))
	if err != nil {
		t.Fatal(err)
	}
	final, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("out")))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	path := os.Getenv("DUO_SCREENSHOT")
	if path == "" {
		path = filepath.Join(t.TempDir(), "serve.png")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d bytes); status %q", path, len(shot), status)
	texts := map[string]string{} // step -> text shown
	for _, s := range seen {
		texts[s[0]] = s[1]
	}
	distinct := map[string]bool{}
	for step, text := range texts {
		if step != "" && step != "final" {
			distinct[text] = true
		}
	}
	if len(texts) < 6 || len(distinct) < 3 {
		t.Errorf("the page showed %d steps with %d distinct texts; want the text to change over several steps", len(texts), len(distinct))
	}
	if texts[steps] == "" || !strings.HasPrefix(final, "To be") || texts["final"] != final {
		t.Errorf("last step %q, final text %q (shown at the end: %q)", texts[steps], final, texts["final"])
	}
	if !strings.Contains(status, "done: "+steps+" steps") {
		t.Errorf("status line %q", status)
	}
}
