package main

import (
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/lessonbot/lessonbot/internal/config"
)

// readRepoFile reads a file by its path from the repository's root.
func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestDeployConfigs parses the configurations that the container image and
// the systemd unit install, so that a renamed key or a new validation rule
// cannot break them unseen, and checks they agree with the Dockerfile and
// the unit.
func TestDeployConfigs(t *testing.T) {
	tests := []struct {
		name, file                   string
		database, lessons, listen    string
		installedBy, wantInInstaller []string
	}{
		{
			name: "OKContainer", file: "deploy/container.yaml", database: "/data/lessonbot.db", lessons: "/lessons", listen: ":9090",
			installedBy: []string{"Dockerfile"},
			wantInInstaller: []string{
				"cp /src/deploy/container.yaml etc/lessonbot/config.yaml",
				`CMD ["/lessonbot", "health", "--config", "/etc/lessonbot/config.yaml"]`,
				`CMD ["run", "--config", "/etc/lessonbot/config.yaml"]`,
				"VOLUME /data\n", "USER 65532:65532\n",
			},
		},
		{
			name: "OKSystemd", file: "deploy/systemd.yaml", database: "/var/lib/lessonbot/lessonbot.db", lessons: "/etc/lessonbot/lessons", listen: "127.0.0.1:9090",
			installedBy: []string{"deploy/lessonbot.service"},
			wantInInstaller: []string{
				"install -m 0644 deploy/systemd.yaml /etc/lessonbot/config.yaml",
				"ExecStart=/usr/local/bin/lessonbot run --config /etc/lessonbot/config.yaml\n",
				"StateDirectory=lessonbot\n", "ConfigurationDirectory=lessonbot\n",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(readRepoFile(t, tt.file)), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("%s does not validate: %v", tt.file, err)
			}
			if cfg.Database != tt.database || cfg.Lessons != tt.lessons || cfg.Admin.Listen != tt.listen || cfg.Log.Format != "json" {
				t.Errorf("%s: database %q, lessons %q, admin.listen %q, log.format %q; want %q, %q, %q, json",
					tt.file, cfg.Database, cfg.Lessons, cfg.Admin.Listen, cfg.Log.Format, tt.database, tt.lessons, tt.listen)
			}
			if cfg.Telegram.Token != "" || cfg.Discord.Token != "" {
				t.Errorf("%s holds a token; tokens come from the environment", tt.file)
			}
			if _, err := livezURL(cfg.Admin.Listen); err != nil {
				t.Errorf("lessonbot health cannot probe %s's admin.listen: %v", tt.file, err)
			}
			for _, name := range tt.installedBy {
				src := readRepoFile(t, name)
				for _, want := range tt.wantInInstaller {
					if !strings.Contains(src, want) {
						t.Errorf("%s does not contain %q", name, want)
					}
				}
			}
		})
	}
}

// TestDockerfileExposesAdminPort checks the EXPOSEd port is the one the
// image's configuration listens on.
func TestDockerfileExposesAdminPort(t *testing.T) {
	cfg, err := config.Parse([]byte(readRepoFile(t, "deploy/container.yaml")), "container.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, port, err := net.SplitHostPort(cfg.Admin.Listen)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^EXPOSE ` + port + `$`).MatchString(readRepoFile(t, "Dockerfile")) {
		t.Errorf("Dockerfile does not EXPOSE %s, the port of admin.listen in deploy/container.yaml", port)
	}
}
