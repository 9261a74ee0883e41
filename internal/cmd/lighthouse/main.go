// Command lighthouse prints Lighthouse's mobile Performance, Accessibility
// and Best-Practices scores for the portal list, a portal conversation and
// the staff inbox (make bench). It starts the whole product on loopback
// with the demo data, as make dev does, and runs pages.mjs with Node,
// Lighthouse from .tools and Debian's chromium.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/pedsportal/messaging/internal/devstack"
	"github.com/pedsportal/messaging/internal/localdev/childproc"
	"github.com/pedsportal/messaging/internal/seed"
)

type result struct {
	Screen        string   `json:"screen"`
	Performance   int      `json:"performance"`
	Accessibility int      `json:"accessibility"`
	BestPractices int      `json:"bestPractices"`
	Failed        []string `json:"failed"`
	Metrics       struct {
		FCP string `json:"fcp"`
		LCP string `json:"lcp"`
		TBT string `json:"tbt"`
		CLS string `json:"cls"`
	} `json:"metrics"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "lighthouse:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	root, err := childproc.RepoRoot(".")
	if err != nil {
		return err
	}
	chrome, err := chromium()
	if err != nil {
		return err
	}
	tools := filepath.Join(root, ".tools")
	if _, err := os.Stat(filepath.Join(tools, "node_modules", "lighthouse", "package.json")); err != nil {
		return errors.New("lighthouse is not installed in .tools: run `make tools`")
	}
	st, err := devstack.Start(ctx, devstack.Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return fmt.Errorf("start the product: %w", err)
	}
	defer st.Stop()

	cmd := exec.CommandContext(ctx, "node", filepath.Join(root, "internal", "cmd", "lighthouse", "pages.mjs"))
	cmd.Env = append(os.Environ(), "TOOLS_DIR="+tools, "CHROME_PATH="+chrome, "SITE_URL="+st.SiteURL,
		"CONVERSATION=#/c/"+seed.Mateo+"/"+seed.ConvRash)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("node: %w", err)
	}
	fmt.Println("==> Lighthouse 12.2.3, mobile (simulated slow 4G, mid-range phone), Debian chromium")
	fmt.Printf("%-22s %12s %14s %15s  %-8s %-8s %-7s %-6s %s\n", "screen", "performance", "accessibility", "best practices", "FCP", "LCP", "TBT", "CLS", "audits below 100")
	sc := bufio.NewScanner(out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for sc.Scan() {
		var r result
		if json.Unmarshal(sc.Bytes(), &r) != nil {
			fmt.Println(sc.Text())
			continue
		}
		n++
		fmt.Printf("%-22s %12d %14d %15d  %-8s %-8s %-7s %-6s %s\n", r.Screen, r.Performance, r.Accessibility, r.BestPractices,
			r.Metrics.FCP, r.Metrics.LCP, r.Metrics.TBT, r.Metrics.CLS, strings.Join(r.Failed, " "))
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("pages.mjs: %w", err)
	}
	if n != 3 {
		return fmt.Errorf("scored %d screens, want 3", n)
	}
	return nil
}

// chromium finds Debian's chromium, or $CHROMIUM.
func chromium() (string, error) {
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p, nil
	}
	for _, p := range []string{"/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p, nil
	}
	return "", errors.New("chromium is not installed: run `make tools`, which installs Debian's chromium with apt")
}
