package main

import (
	"archive/tar"
	"bytes"
	"debug/buildinfo"
	"debug/elf"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"sigs.k8s.io/yaml"
)

// An image is built without a daemon, is what the chart asks for, runs as non-root, carries
// its OCI labels, and its entrypoint is the service, which starts (and, with no configuration,
// says what it is missing).
func TestImageRunsItsService(t *testing.T) {
	chart, err := ChartDefaults("..")
	if err != nil {
		t.Fatal(err)
	}
	ref := chart.Repository + "/order:" + chart.AppVersion
	// The chart, rendered (k8s/), refers to exactly this image.
	manifests, err := os.ReadFile("../k8s/skmall.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifests), "image: "+ref+"\n") {
		t.Fatalf("the chart does not refer to %s", ref)
	}

	img, cfg := buildImage(t, "order", ref)
	if cfg.Config.User != "65532:65532" || len(cfg.Config.Entrypoint) != 1 || cfg.Config.Entrypoint[0] != "/app/service" {
		t.Fatalf("user %q, entrypoint %v", cfg.Config.User, cfg.Config.Entrypoint)
	}
	for _, l := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.source"} {
		if cfg.Config.Labels[l] == "" {
			t.Errorf("no label %s", l)
		}
	}

	// Unpack the image's filesystem and run its entrypoint.
	root := unpack(t, img)
	for _, want := range []string{"etc/passwd", "etc/ssl/certs/ca-certificates.crt"} {
		if _, err := os.Stat(filepath.Join(root, want)); err != nil {
			t.Errorf("the image has no %s", want)
		}
	}
	shipped(t, filepath.Join(root, cfg.Config.Entrypoint[0]))
	cmd := exec.Command(filepath.Join(root, cfg.Config.Entrypoint[0]))
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "order: configuration: required key") {
		t.Fatalf("the entrypoint, run without configuration: %v\n%s", err, out)
	}
}

// shipped checks that a service's binary is built as scripts/build-app.sh says: static, and
// without gRPC's request tracing, whose html/template would keep a fifth more of the binary
// (and of the service's resident memory).
func shipped(t *testing.T, path string) {
	t.Helper()
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["CGO_ENABLED"] != "0" || settings["-tags"] != "grpcnotrace" || settings["-trimpath"] != "true" {
		t.Errorf("the service is built with CGO_ENABLED=%q, -tags=%q, -trimpath=%q; want 0, grpcnotrace, true",
			settings["CGO_ENABLED"], settings["-tags"], settings["-trimpath"])
	}
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the service's binary asks for a dynamic loader; the image has none")
		}
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, pkg := range []string{"golang.org/x/net/trace.", "html/template."} {
		if bytes.Contains(raw, []byte(pkg)) {
			t.Errorf("the service's binary holds %s", strings.TrimSuffix(pkg, "."))
		}
	}
}

// The release workflow runs make test, and versions the images and the chart alike, so that the
// chart it publishes refers to the images it pushes.
func TestReleaseWorkflow(t *testing.T) {
	raw, err := os.ReadFile("../.github/workflows/ci.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Run string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	if err := yaml.Unmarshal(raw, &wf); err != nil {
		t.Fatalf("the workflow is not YAML: %v", err)
	}
	runs := func(job string) string {
		var all []string
		for _, s := range wf.Jobs[job].Steps {
			all = append(all, s.Run)
		}
		return strings.Join(all, "\n")
	}
	if !strings.Contains(runs("test"), "make test") {
		t.Error("the test job does not run make test")
	}
	release := runs("release")
	for _, want := range []string{`make images TAG="$VERSION" REPOSITORY="$REGISTRY"`, `--app-version "$VERSION"`, `"$REGISTRY/$s:$VERSION"`} {
		if !strings.Contains(release, want) {
			t.Errorf("the release job lacks %s", want)
		}
	}
}

// The TypeScript mypage's image holds node, every library it loads and the service: run in the
// image's filesystem alone (chroot), it starts and asks for its configuration.
func TestNodeImageRunsMypage(t *testing.T) {
	chart, err := ChartDefaults("..")
	if err != nil {
		t.Fatal(err)
	}
	img, cfg := buildImage(t, "mypage-ts", chart.Repository+"/mypage-ts:"+chart.AppVersion)
	if cfg.Config.User != "65532:65532" {
		t.Fatalf("user %q", cfg.Config.User)
	}
	root := unpack(t, img)
	cmd := exec.Command("chroot", append([]string{root}, cfg.Config.Entrypoint...)...) //nolint:gosec // the image this test built
	cmd.Env = []string{}
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "mypage: configuration: required key DAPR_API_TOKEN missing value") {
		t.Fatalf("the entrypoint %v, run alone in the image without configuration: %v\n%s", cfg.Config.Entrypoint, err, out)
	}
}

// buildImage builds a service's image, named ref, and reads it back from its tarball.
func buildImage(t *testing.T, svc, ref string) (v1.Image, *v1.ConfigFile) {
	t.Helper()
	path := filepath.Join(t.TempDir(), svc+".tar")
	if err := Build("..", svc, ref, "test", path); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(ref)
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatalf("the tarball holds no %s: %v", ref, err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	return img, cfg
}

// unpack writes an image's filesystem into a temporary folder.
func unpack(t *testing.T, img v1.Image) string {
	t.Helper()
	root := t.TempDir()
	tr := tar.NewReader(mutate.Extract(img))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return root
		}
		if err != nil {
			t.Fatal(err)
		}
		// Our own image, unpacked into a temporary directory.
		dst := filepath.Join(root, h.Name) //nolint:gosec // names come from the image this test built
		switch h.Typeflag {
		case tar.TypeDir:
			_ = os.MkdirAll(dst, 0o750)
		case tar.TypeReg:
			f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY, h.FileInfo().Mode())
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil { //nolint:gosec // our own image, not a stranger's archive
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}
}
