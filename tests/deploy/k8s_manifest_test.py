"""The Kubernetes manifests of deploy/k8s/ and deploy/Dockerfile agree with
each other and with the real attex-server: every flag of the ConfigMap's
flagfile and of the container's args is one the binary lists in --helpfull
and parses (the binary itself reads them, with --helpfull, so nothing
starts); the container ports are the ports of --listen, --metrics_listen and
--health_agent_listen, on an address the kubelet and the Services reach; the
probes probe the gRPC port; the termination grace period covers
--drain_delay_s + --grace_period_s; every Secret, ConfigMap and key the pod
names exists, and the files the flags name are mounted from them; each
Service selects the pods and targets one of their ports; the Dockerfile
EXPOSEs those ports and runs as the pod's user.

usage: k8s_manifest_test.py ATTEX_SERVER [--k8s_dir DIR] [--dockerfile FILE]
(the defaults: the repository's deploy/k8s/ and deploy/Dockerfile)
"""

import argparse
import glob
import os
import posixpath
import re
import subprocess
import sys
import tempfile
import unittest

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
ARGS = None

# Flag -> the containerPort name that serves it.
PORT_FLAGS = {"listen": "grpc", "metrics_listen": "metrics", "health_agent_listen": "agent"}
# attex-server's defaults, for a flag the manifests leave out.
DEFAULTS = {"drain_delay_s": "0", "grace_period_s": "10"}


def split_flag(arg):
    """'--name=value' -> ('name', 'value'); a bare '--name' -> ('name', None)."""
    if not arg.startswith("--"):
        raise ValueError(f"not a --flag: {arg!r}")
    name, eq, value = arg[2:].partition("=")
    return name, (value if eq else None)


def flagfile_lines(text):
    """The flags of a flagfile's text, as abseil reads it (blank lines and
    '#' comments skipped)."""
    return [line.strip() for line in text.splitlines()
            if line.strip() and not line.strip().startswith("#")]


def host_port(value):
    host, _, port = value.rpartition(":")
    return host, int(port)


def under(path, mount):
    return path == mount or path.startswith(mount.rstrip("/") + "/")


class Manifests:
    """Every document of the folder, and what the Deployment's attex-server
    container is given."""

    def __init__(self, k8s_dir):
        self.docs = []  # (file, document)
        files = sorted(glob.glob(os.path.join(k8s_dir, "*.yaml")) +
                       glob.glob(os.path.join(k8s_dir, "*.yaml.example")))
        if not files:
            raise RuntimeError(f"no manifests in {k8s_dir}")
        for path in files:
            with open(path) as f:
                for doc in yaml.safe_load_all(f):
                    if doc is not None:
                        self.docs.append((os.path.basename(path), doc))

    def of_kind(self, kind):
        return [doc for _, doc in self.docs if doc.get("kind") == kind]

    def named(self, kind, name):
        found = [doc for doc in self.of_kind(kind) if doc["metadata"]["name"] == name]
        return found[0] if found else None


class K8sManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = Manifests(ARGS.k8s_dir)
        deployments = cls.m.of_kind("Deployment")
        assert len(deployments) == 1, f"one Deployment expected, found {len(deployments)}"
        cls.deployment = deployments[0]
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        servers = [c for c in cls.pod["containers"] if c["name"] == "attex-server"]
        assert len(servers) == 1, "the Deployment has no container named attex-server"
        cls.container = servers[0]
        cls.mounts = {v["mountPath"]: v["name"] for v in cls.container.get("volumeMounts", [])}
        cls.volumes = {v["name"]: v for v in cls.pod.get("volumes", [])}
        # The flags as attex-server sees them: the flagfiles' lines in place
        # of each --flagfile, then the rest of the args.
        cls.flagfiles = {}  # path in the pod -> text
        cls.args = []
        for arg in cls.container.get("args", []):
            name, value = split_flag(arg)
            if name == "flagfile":
                cls.flagfiles[value] = cls.file_in_pod(value)
                cls.args.extend(flagfile_lines(cls.flagfiles[value]))
            else:
                cls.args.append(arg)
        cls.flags = {}
        for arg in cls.args:
            name, value = split_flag(arg)
            cls.flags[name] = value
        cls.ports = {p["name"]: p["containerPort"] for p in cls.container.get("ports", [])}
        cls.env = {e["name"]: e for e in cls.container.get("env", [])}

    @classmethod
    def mount_of(cls, path):
        """(mountPath, volume) of the mount that holds `path`, or (None, None)."""
        best = None
        for mount in cls.mounts:
            if under(path, mount) and (best is None or len(mount) > len(best)):
                best = mount
        if best is None:
            return None, None
        return best, cls.volumes.get(cls.mounts[best])

    @classmethod
    def key_at(cls, path):
        """(kind, object name, key) of the ConfigMap or Secret file at `path`."""
        mount, volume = cls.mount_of(path)
        assert volume is not None, f"{path}: no volume is mounted there"
        key = posixpath.relpath(path, mount)
        for kind, field, name_field in (("ConfigMap", "configMap", "name"),
                                        ("Secret", "secret", "secretName")):
            if field in volume:
                source = volume[field]
                for item in source.get("items", []):
                    if item["path"] == key:
                        key = item["key"]
                return kind, source[name_field], key
        raise AssertionError(f"{path}: volume {volume['name']} is no ConfigMap or Secret")

    @classmethod
    def file_in_pod(cls, path):
        kind, name, key = cls.key_at(path)
        assert kind == "ConfigMap", f"--flagfile={path} is not in a ConfigMap"
        config = cls.m.named("ConfigMap", name)
        assert config is not None, f"--flagfile={path}: no ConfigMap {name}"
        assert key in config.get("data", {}), f"--flagfile={path}: ConfigMap {name} has no {key}"
        return config["data"][key]

    def secret_has(self, name, key, what):
        secret = self.m.named("Secret", name)
        self.assertIsNotNone(secret, f"{what}: no Secret {name} in the manifests")
        keys = set(secret.get("data", {})) | set(secret.get("stringData", {}))
        self.assertIn(key, keys, f"{what}: Secret {name} has no key {key}")

    def test_every_flag_is_one_attex_server_lists_and_parses(self):
        helpfull = subprocess.run([ARGS.attex_server, "--helpfull"], capture_output=True,
                                  text=True).stdout
        known = set(re.findall(r"^\s+--([a-z0-9_]+) ", helpfull, re.M))
        self.assertIn("listen", known, "attex-server --helpfull lists no --listen: wrong binary?")
        self.assertTrue(self.args, "attex-server gets no flags")
        for arg in self.args:
            name, _ = split_flag(arg)
            self.assertIn(name, known, f"{arg}: attex-server has no flag --{name}")
        # The binary reads them all (values included) and prints its help
        # instead of starting; a flag it cannot take is an ERROR line.
        env = dict(os.environ)
        for name in (self.flags.get("fromenv") or "").split(","):
            if name:
                env[f"FLAGS_{name}"] = "x"
        with tempfile.TemporaryDirectory() as tmp:
            argv = [ARGS.attex_server]
            for i, (path, text) in enumerate(self.flagfiles.items()):
                copy = os.path.join(tmp, f"{i}.flags")
                with open(copy, "w") as f:
                    f.write(text)
                argv.append(f"--flagfile={copy}")
            argv += [a for a in self.container.get("args", [])
                     if split_flag(a)[0] != "flagfile"]
            parsed = subprocess.run(argv + ["--helpfull"], capture_output=True, text=True,
                                    env=env)
        self.assertNotIn("ERROR", parsed.stderr, f"attex-server refuses the flags: {parsed.stderr}")

    def test_the_dsn_comes_from_a_secret_through_fromenv(self):
        self.assertEqual(self.flags.get("store"), "postgres")
        fromenv = [n for n in (self.flags.get("fromenv") or "").split(",") if n]
        self.assertIn("postgres_dsn", set(fromenv) | set(self.flags),
                      "--store=postgres needs --postgres_dsn or --fromenv=postgres_dsn")
        for name in fromenv:
            var = f"FLAGS_{name}"
            self.assertIn(var, self.env, f"--fromenv={name}: the container has no env {var}")
            ref = self.env[var].get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                self.secret_has(ref["name"], ref["key"], f"env {var}")

    def test_every_secret_and_config_the_pod_names_exists(self):
        for var, e in self.env.items():
            ref = e.get("valueFrom", {}).get("secretKeyRef")
            if ref is not None:
                self.secret_has(ref["name"], ref["key"], f"env {var}")
        for name, volume in self.volumes.items():
            if "secret" in volume:
                self.assertIsNotNone(self.m.named("Secret", volume["secret"]["secretName"]),
                                     f"volume {name}: no Secret {volume['secret']['secretName']}")
            if "configMap" in volume:
                self.assertIsNotNone(self.m.named("ConfigMap", volume["configMap"]["name"]),
                                     f"volume {name}: no ConfigMap {volume['configMap']['name']}")
        for mount, name in self.mounts.items():
            self.assertIn(name, self.volumes, f"mount {mount}: no volume {name}")
        key_file = self.flags.get("billing_key_file")
        self.assertTrue(key_file, "--store=postgres needs --billing_key_file")
        kind, name, key = self.key_at(key_file)
        self.assertEqual(kind, "Secret", f"--billing_key_file={key_file} is not in a Secret")
        self.secret_has(name, key, f"--billing_key_file={key_file}")

    def test_the_data_dir_is_writable(self):
        data_dir = self.flags.get("data_dir")
        self.assertTrue(data_dir, "no --data_dir")
        _, volume = self.mount_of(data_dir)
        read_only_root = self.container.get("securityContext", {}).get("readOnlyRootFilesystem")
        if read_only_root:
            self.assertIsNotNone(volume, f"--data_dir={data_dir} is on the read-only root")
        if volume is not None:
            self.assertTrue("emptyDir" in volume or "persistentVolumeClaim" in volume,
                            f"--data_dir={data_dir}: volume {volume['name']} is not writable")

    def test_container_ports_are_the_ports_of_the_flags(self):
        wanted = {}
        for flag, port_name in PORT_FLAGS.items():
            value = self.flags.get(flag)
            if not value:
                continue
            host, port = host_port(value)
            self.assertIn(host, ("0.0.0.0", "[::]", ""),
                          f"--{flag}={value}: the kubelet and the Services reach the pod's IP, "
                          "not loopback")
            wanted[port_name] = port
        self.assertIn("grpc", wanted, "no --listen")
        self.assertEqual(self.ports, wanted,
                         "containerPorts (name: number) differ from the flags' ports")

    def test_probes_probe_the_grpc_port(self):
        _, grpc_port = host_port(self.flags["listen"])
        for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
            spec = self.container.get(probe)
            if spec is None:
                self.assertEqual(probe, "startupProbe", f"no {probe}")
                continue
            self.assertIn("grpc", spec, f"{probe} is not a grpc probe")
            self.assertEqual(spec["grpc"]["port"], grpc_port,
                             f"{probe} probes port {spec['grpc']['port']}, --listen is {grpc_port}")
            self.assertEqual(spec["grpc"]["port"], self.ports.get("grpc"))

    def test_the_grace_period_covers_the_drain(self):
        drain = int(self.flags.get("drain_delay_s") or DEFAULTS["drain_delay_s"])
        grace = int(self.flags.get("grace_period_s") or DEFAULTS["grace_period_s"])
        self.assertGreater(drain, 0, "behind Services a replica needs a --drain_delay_s")
        # A preStop hook's time is taken from the same period.
        pre_stop = self.container.get("lifecycle", {}).get("preStop", {})
        pre_stop_s = pre_stop.get("sleep", {}).get("seconds", 0)
        period = self.pod.get("terminationGracePeriodSeconds", 30)
        self.assertGreaterEqual(
            period, pre_stop_s + drain + grace,
            f"terminationGracePeriodSeconds {period} < preStop {pre_stop_s} + "
            f"--drain_delay_s {drain} + --grace_period_s {grace}")

    def test_services_select_the_pods_and_target_their_ports(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        selector = self.deployment["spec"]["selector"]["matchLabels"]
        self.assertLessEqual(selector.items(), labels.items(),
                             "the Deployment's selector does not match its pods")
        numbers = set(self.ports.values())
        services = [s for s in self.m.of_kind("Service") if s["spec"].get("selector")]
        self.assertTrue(services, "no Service selects the pods")
        self.assertTrue(any(p.get("targetPort") in ("grpc", self.ports["grpc"])
                            for s in services for p in s["spec"]["ports"]),
                        "no Service reaches the gRPC port")
        for s in services:
            name = s["metadata"]["name"]
            self.assertLessEqual(s["spec"]["selector"].items(), labels.items(),
                                 f"Service {name} selects no attex-server pod")
            for p in s["spec"]["ports"]:
                target = p.get("targetPort", p["port"])
                ok = target in self.ports if isinstance(target, str) else target in numbers
                self.assertTrue(ok, f"Service {name} port {p['port']}: targetPort {target} "
                                f"is no container port ({self.ports})")

    def test_every_object_is_in_the_namespace(self):
        namespaces = {n["metadata"]["name"] for n in self.m.of_kind("Namespace")}
        for file, doc in self.m.docs:
            if doc["kind"] == "Namespace":
                continue
            ns = doc["metadata"].get("namespace")
            self.assertIsNotNone(ns, f"{file}: {doc['kind']} {doc['metadata']['name']} "
                                 "names no namespace")
            if namespaces:
                self.assertIn(ns, namespaces, f"{file}: no Namespace {ns}")

    def test_the_dockerfile_exposes_the_ports_and_runs_as_the_pods_user(self):
        with open(ARGS.dockerfile) as f:
            text = re.sub(r"\\\n", " ", f.read())
        lines = [line.strip() for line in text.splitlines()
                 if line.strip() and not line.strip().startswith("#")]
        final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")):]
        exposed = set()
        for line in final:
            if line.startswith("EXPOSE "):
                exposed |= {int(p.split("/")[0]) for p in line.split()[1:]}
        self.assertEqual(exposed, set(self.ports.values()),
                         "the Dockerfile's EXPOSE differs from the container ports")
        # Its default arguments listen on the same ports.
        cmd = [line for line in final if line.startswith("CMD ")]
        self.assertEqual(len(cmd), 1, "the final stage has no CMD")
        cmd_flags = dict(split_flag(a) for a in yaml.safe_load(cmd[0][4:]))
        for flag, port_name in PORT_FLAGS.items():
            self.assertIn(flag, cmd_flags, f"the Dockerfile's CMD has no --{flag}")
            self.assertEqual(host_port(cmd_flags[flag])[1], self.ports.get(port_name),
                             f"the Dockerfile's CMD --{flag} is not the {port_name} port")
        user = [line.split()[1] for line in final if line.startswith("USER ")]
        self.assertTrue(user, "the image runs as root")
        uid = user[-1].split(":")[0]
        self.assertTrue(uid.isdigit() and uid != "0", f"USER {user[-1]}: a numeric uid, not root")
        run_as = self.pod.get("securityContext", {}).get("runAsUser")
        self.assertEqual(int(uid), run_as, "the pod's runAsUser is not the image's USER")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("attex_server")
    parser.add_argument("--k8s_dir", default=os.path.join(ROOT, "deploy", "k8s"))
    parser.add_argument("--dockerfile", default=os.path.join(ROOT, "deploy", "Dockerfile"))
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
