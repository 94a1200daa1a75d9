package main_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/meterd/meterd/core/harness"
)

var updateScreenshot = flag.Bool("update-screenshot", false, "rewrite testdata/report.png, the README's picture of report -format html, from this run's render")

// TestReportHTMLInChromium renders the page once in headless Chromium: the
// text a reader sees holds every total, the chart's bars are painted, and
// the page asked the network for nothing.
func TestReportHTMLInChromium(t *testing.T) {
	t.Parallel()
	chromium := harness.NeedTool(t, "chromium", "chromium")
	e := newEnv(t)
	std, det := htmlFixture(t, e)
	page := filepath.Join(e.dir, "report.html")
	// Relative names, as a vendor would type them: the page shows them.
	cmd := exec.Command(bin, "report", "-key", e.key, "-format", "html", "-o", page, filepath.Base(std), filepath.Base(det))
	cmd.Dir = e.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("report: %v\n%s", err, out)
	}

	tmp := t.TempDir()
	shot, netlog := filepath.Join(tmp, "report.png"), filepath.Join(tmp, "netlog.json")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute) // against a hang, not a measurement
	defer cancel()
	render := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,900", "--hide-scrollbars",
		"--screenshot="+shot, "--dump-dom", "--log-net-log="+netlog,
		"--host-resolver-rules=MAP * ~NOTFOUND", // should anything try, it reaches no one
		"--user-data-dir="+filepath.Join(tmp, "profile"), "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-extensions", "--disable-sync",
		"file://"+page)
	var dom, stderr bytes.Buffer
	render.Stdout, render.Stderr = &dom, &stderr
	if err := render.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}

	text := pageText(dom.String())
	for _, rec := range csvRecords(t, meterctl(t, "report", "-key", e.key, "-format", "csv", std, det)) {
		if line := strings.Join(rec, " "); !strings.Contains(text, line) {
			t.Fatalf("the rendered page does not show the total %q:\n%s", line, text)
		}
	}
	if !strings.Contains(text, "TOTAL 1320 122") || !strings.Contains(text, "120 units unexported") {
		t.Fatalf("the rendered page lacks the TOTAL line or the unexported units:\n%s", text)
	}
	if reqs := pageRequests(t, netlog); len(reqs) > 0 {
		t.Fatalf("the page asked the network for %q", reqs)
	}

	b, err := os.ReadFile(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if got := img.Bounds().Size(); got != image.Pt(1200, 900) {
		t.Fatalf("screenshot is %v, want 1200x900", got)
	}
	if n := pixelsOf(img, 0x00, 0x72, 0xb2); n < 500 { // the first series' colour
		t.Fatalf("%d pixels in the first bar colour: the chart was not painted", n)
	}
	if *updateScreenshot {
		var out bytes.Buffer
		if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&out, paletted(img)); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/report.png", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

var (
	tags   = regexp.MustCompile(`(?s)<style.*?</style>|<[^>]*>`)
	spaces = regexp.MustCompile(`\s+`)
)

// pageText is the text of a DOM, cells apart: tags become spaces.
func pageText(dom string) string {
	text := tags.ReplaceAllString(dom, " ")
	text = strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&#39;", "'", "&quot;", `"`).Replace(text)
	return spaces.ReplaceAllString(text, " ")
}

// pageRequests returns the URLs of the requests a document started, from
// Chromium's net log. The browser's own background requests (its updater,
// its clock) are started by no document: their initiator is "not an
// origin"; the page's own (file://) has the initiator "null".
func pageRequests(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var log struct {
		Constants struct {
			EventTypes map[string]int `json:"logEventTypes"`
		} `json:"constants"`
		Events []struct {
			Type   int `json:"type"`
			Params struct {
				URL       string `json:"url"`
				Initiator string `json:"initiator"`
			} `json:"params"`
		} `json:"events"`
	}
	if err := json.Unmarshal(b, &log); err != nil {
		t.Fatalf("net log: %v", err)
	}
	start, ok := log.Constants.EventTypes["URL_REQUEST_START_JOB"]
	if !ok || len(log.Events) == 0 {
		t.Fatalf("net log without URL_REQUEST_START_JOB or events: its format changed, the check would see nothing")
	}
	var urls []string
	for _, ev := range log.Events {
		if ev.Type == start && ev.Params.URL != "" && ev.Params.Initiator != "not an origin" {
			urls = append(urls, ev.Params.URL)
		}
	}
	return urls
}

func pixelsOf(img image.Image, r, g, b uint8) int {
	n := 0
	for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
		for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if uint8(pr>>8) == r && uint8(pg>>8) == g && uint8(pb>>8) == b {
				n++
			}
		}
	}
	return n
}

// paletted maps img onto its 256 most frequent colours, each pixel to the
// nearest: the page is flat colour and grey text, and the README's picture
// shrinks to a fraction.
func paletted(img image.Image) *image.Paletted {
	count := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			count[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	cs := slices.Collect(maps.Keys(count))
	slices.SortFunc(cs, func(a, b color.RGBA) int {
		return cmp.Or(count[b]-count[a], cmp.Compare(a.R, b.R), cmp.Compare(a.G, b.G), cmp.Compare(a.B, b.B), cmp.Compare(a.A, b.A))
	})
	pal := make(color.Palette, 0, 256)
	for _, c := range cs[:min(256, len(cs))] {
		pal = append(pal, c)
	}
	out := image.NewPaletted(b, pal)
	draw.Draw(out, b, img, b.Min, draw.Src)
	return out
}
