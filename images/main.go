// Command images builds the services' container images, without a Docker daemon, as image
// tarballs that docker load, podman load and crane push read. Each is one layer on an empty
// base: the static binary (/app/service), a non-root user and CA certificates — what the
// Dockerfile builds on distroless for those who have Docker. mypage-ts, the TypeScript mypage,
// is this machine's node with the shared libraries it loads, and the built service with its
// production dependencies under /app.
//
//	go run ./images -out .images            # all four, tagged with the chart's appVersion
//	docker load -i .images/order.tar        # or: crane push .images/order.tar <registry>/order:<tag>
//
// With -program, it builds instead an image of each static program named (the local cluster's
// CoreDNS, Traefik, Dapr control plane...): the program as /<its name>, its command (not an
// entrypoint: Dapr's injector names /daprd as the sidecar's first argument).
//
//	go run ./images -out .images -program bin/coredns=registry.k8s.io/coredns/coredns:v1.14.5
package main

import (
	"archive/tar"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Services are the images built, one per service folder.
var Services = []string{"warehouse", "order", "delivery", "mypage", "mypage-ts"}

// nonroot is the user the services run as (as distroless's nonroot, which the Dockerfile uses).
const nonroot = 65532

func main() {
	root := flag.String("root", ".", "the repository root")
	out := flag.String("out", ".images", "folder the image tarballs are written to")
	repo := flag.String("repository", "", "image repository (default: the chart's image.repository)")
	tag := flag.String("tag", "", "image tag (default: the chart's appVersion)")
	revision := flag.String("revision", "", "source revision for the OCI labels (default: git HEAD)")
	var programs []string
	flag.Func("program", "path=image reference: an image of that static program instead of the services (repeatable)", func(s string) error {
		if !strings.Contains(s, "=") {
			return fmt.Errorf("want path=image reference, got %q", s)
		}
		programs = append(programs, s)
		return nil
	})
	flag.Parse()
	var err error
	if len(programs) > 0 {
		err = programImages(programs, *out)
	} else {
		err = run(*root, *out, *repo, *tag, *revision)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "images:", err)
		os.Exit(1)
	}
}

func run(root, out, repo, tag, revision string) error {
	chart, err := ChartDefaults(root)
	if err != nil {
		return err
	}
	if repo == "" {
		repo = chart.Repository
	}
	if tag == "" {
		tag = chart.AppVersion
	}
	if revision == "" {
		if b, err := exec.CommandContext(context.Background(), "git", "-C", root, "rev-parse", "HEAD").Output(); err == nil {
			revision = strings.TrimSpace(string(b))
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil { //nolint:gosec // build output others read
		return fmt.Errorf("output directory: %w", err)
	}
	for _, svc := range Services {
		ref := fmt.Sprintf("%s/%s:%s", repo, svc, tag)
		path := filepath.Join(out, svc+".tar")
		if err := Build(root, svc, ref, revision, path); err != nil {
			return fmt.Errorf("%s: %w", svc, err)
		}
		fmt.Println(ref, "->", path)
	}
	return nil
}

func programImages(programs []string, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil { //nolint:gosec // build output others read
		return fmt.Errorf("output directory: %w", err)
	}
	for _, p := range programs {
		program, ref, _ := strings.Cut(p, "=")
		path := filepath.Join(out, filepath.Base(program)+".tar")
		if err := Program(program, ref, path); err != nil {
			return fmt.Errorf("%s: %w", program, err)
		}
		fmt.Println(ref, "->", path)
	}
	return nil
}

// Chart is what the Helm chart expects of the images.
type Chart struct{ Repository, AppVersion string }

// ChartDefaults reads the image repository and appVersion the chart references.
func ChartDefaults(root string) (Chart, error) {
	chartYAML, err := os.ReadFile(filepath.Join(root, "helm", "skmall", "Chart.yaml"))
	if err != nil {
		return Chart{}, fmt.Errorf("chart: %w", err)
	}
	values, err := os.ReadFile(filepath.Join(root, "helm", "skmall", "values.yaml"))
	if err != nil {
		return Chart{}, fmt.Errorf("chart values: %w", err)
	}
	app := regexp.MustCompile(`(?m)^appVersion:\s*"?([^"\s]+)"?`).FindSubmatch(chartYAML)
	repo := regexp.MustCompile(`(?m)^\s+repository:\s*(\S+)`).FindSubmatch(values)
	if app == nil || repo == nil {
		return Chart{}, fmt.Errorf("the chart names no appVersion or image.repository")
	}
	return Chart{Repository: string(repo[1]), AppVersion: string(app[1])}, nil
}

// Build builds a service and writes its image, named ref, to path.
func Build(root, svc, ref, revision, path string) error {
	build := goService
	if svc == "mypage-ts" {
		build = nodeService
	}
	files, entrypoint, err := build(root, svc)
	if err != nil {
		return err
	}
	return writeImage(files, entrypoint, nil, map[string]string{
		"org.opencontainers.image.title":       "skmall-" + svc,
		"org.opencontainers.image.description": "SK MALL " + svc + " service",
		"org.opencontainers.image.version":     ref[strings.LastIndex(ref, ":")+1:],
		"org.opencontainers.image.revision":    revision,
		"org.opencontainers.image.source":      "https://github.com/skmall/skmall",
	}, ref, path)
}

// Program builds an image, named ref, of one static program (as /<its name>, the command) and
// writes it to path.
func Program(program, ref, path string) error {
	binary, err := os.ReadFile(program) //nolint:gosec // a program the caller built
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	name := filepath.Base(program)
	return writeImage([]file{{name, string(binary), 0o755}}, nil, []string{"/" + name}, map[string]string{
		"org.opencontainers.image.title":   name,
		"org.opencontainers.image.version": ref[strings.LastIndex(ref, ":")+1:],
	}, ref, path)
}

// writeImage writes an image of one layer (the files, a non-root user and CA certificates),
// run as that user, named ref and labelled, to path.
func writeImage(files []file, entrypoint, command []string, labels map[string]string, ref, path string) error {
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		return fmt.Errorf("CA certificates (apt-get install ca-certificates): %w", err)
	}
	layer, err := tarball.LayerFromOpener(tarOpener(append([]file{
		{"etc/passwd", fmt.Sprintf("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:%d:%d:nonroot:/home/nonroot:/sbin/nologin\n", nonroot, nonroot), 0o644},
		{"etc/group", fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", nonroot), 0o644},
		{"etc/ssl/certs/ca-certificates.crt", string(certs), 0o644},
	}, files...)))
	if err != nil {
		return fmt.Errorf("layer: %w", err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return fmt.Errorf("image: %w", err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	cfg = cfg.DeepCopy()
	cfg.Architecture, cfg.OS = "amd64", "linux"
	cfg.Created = v1.Time{Time: time.Unix(0, 0).UTC()} // reproducible
	cfg.Config.Entrypoint = entrypoint
	cfg.Config.Cmd = command
	cfg.Config.User = fmt.Sprintf("%d:%d", nonroot, nonroot)
	cfg.Config.WorkingDir = "/"
	cfg.Config.Labels = labels
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		return fmt.Errorf("image config: %w", err)
	}
	tagRef, err := name.NewTag(ref)
	if err != nil {
		return fmt.Errorf("image name: %w", err)
	}
	if err := tarball.WriteToFile(path, tagRef, img); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// goService is a Go service's static binary, as /app/service.
func goService(root, svc string) ([]file, []string, error) {
	bin, err := os.CreateTemp("", "skmall-"+svc+"-")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary binary: %w", err)
	}
	_ = bin.Close()
	defer func() { _ = os.Remove(bin.Name()) }()
	cmd := exec.CommandContext(context.Background(), "bash", filepath.Join(root, "scripts", "build-app.sh"), svc, bin.Name())
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, nil, fmt.Errorf("scripts/build-app.sh %s: %w\n%s", svc, err, out)
	}
	binary, err := os.ReadFile(bin.Name())
	if err != nil {
		return nil, nil, fmt.Errorf("built binary: %w", err)
	}
	return []file{{"app/service", string(binary), 0o755}}, []string{"/app/service"}, nil
}

// nodeService is the TypeScript service built (npm ci, npm run build) with its production
// dependencies under /app, and this machine's node with every shared library it loads.
func nodeService(root, svc string) ([]file, []string, error) {
	dir := filepath.Join(root, svc)
	app, err := os.MkdirTemp("", "skmall-"+svc+"-")
	if err != nil {
		return nil, nil, fmt.Errorf("temporary folder: %w", err)
	}
	defer func() { _ = os.RemoveAll(app) }()
	for _, step := range []struct {
		dir  string
		args []string
	}{
		{dir, []string{"sh", "-c", "npm ci && npm run build"}},
		{dir, []string{"cp", "-r", "package.json", "package-lock.json", "dist", app}},
		{app, []string{"npm", "ci", "--omit=dev", "--ignore-scripts"}},
	} {
		cmd := exec.CommandContext(context.Background(), step.args[0], step.args[1:]...) //nolint:gosec // fixed commands
		cmd.Dir = step.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w\n%s", strings.Join(step.args, " "), err, out)
		}
	}
	var files []file
	err = filepath.WalkDir(app, func(path string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		content, err := os.ReadFile(path) //nolint:gosec // the folder this built
		if err != nil {
			return fmt.Errorf("read %s: %w", path, err)
		}
		rel, _ := filepath.Rel(app, path)
		files = append(files, file{filepath.ToSlash(filepath.Join("app", rel)), string(content), 0o644})
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("the built service: %w", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return nil, nil, fmt.Errorf("node: %w", err)
	}
	runtime, err := withLibraries(node)
	if err != nil {
		return nil, nil, err
	}
	return append(files, runtime...), []string{"/usr/bin/node", "/app/dist/main.js"}, nil
}

// withLibraries is a program (as /usr/bin/<name>) and the shared libraries ldd says it loads.
func withLibraries(program string) ([]file, error) {
	out, err := exec.CommandContext(context.Background(), "ldd", program).Output()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %w", program, err)
	}
	binary, err := os.ReadFile(program) //nolint:gosec // the node on this machine's PATH
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", program, err)
	}
	files := []file{{"usr/bin/" + filepath.Base(program), string(binary), 0o755}}
	for _, path := range regexp.MustCompile(`(/\S+\.so[.0-9]*)\s+\(0x`).FindAllStringSubmatch(string(out), -1) {
		lib, err := os.ReadFile(path[1])
		if err != nil {
			return nil, fmt.Errorf("%s needs %s: %w", program, path[1], err)
		}
		files = append(files, file{strings.TrimPrefix(path[1], "/"), string(lib), 0o755})
	}
	return files, nil
}

type file struct {
	name, content string
	mode          int64
}

// tarOpener lays files out as one layer, with the folders they need, root-owned but for the
// non-root user's home; times are zero so that the same binary gives the same layer.
func tarOpener(files []file) tarball.Opener {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	epoch := time.Unix(0, 0)
	for _, d := range []struct {
		name string
		mode int64
		uid  int
	}{{"app", 0o755, 0}, {"etc", 0o755, 0}, {"etc/ssl", 0o755, 0}, {"etc/ssl/certs", 0o755, 0},
		{"home", 0o755, 0}, {"home/nonroot", 0o700, nonroot}, {"tmp", 0o1777, 0}} {
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.name + "/", Mode: d.mode, Uid: d.uid, Gid: d.uid, ModTime: epoch})
	}
	made := map[string]bool{"app": true, "etc": true, "etc/ssl": true, "etc/ssl/certs": true, "home": true, "home/nonroot": true, "tmp": true}
	for _, f := range files {
		var parents []string
		for d := path.Dir(f.name); d != "." && !made[d]; d = path.Dir(d) {
			parents = append(parents, d)
		}
		for i := len(parents) - 1; i >= 0; i-- {
			made[parents[i]] = true
			_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: parents[i] + "/", Mode: 0o755, ModTime: epoch})
		}
		_ = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.content)), ModTime: epoch})
		_, _ = tw.Write([]byte(f.content))
	}
	_ = tw.Close()
	raw := buf.Bytes()
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil }
}
