"""An unprivileged tenant for the security tests.

The scheduler runs as the test's user (root in CI); attacks and victims run
as `nvshare-tenant`, a system user created here when the test runs as root,
so that they are what the issue describes: a local user who can reach the
socket and nothing else. Without root there is no second user to be, and
the tests run the attacker as the test's own user (say so, and still check
everything that does not depend on the uid).
"""
import os
import pickle
import pwd
import subprocess
import traceback

TENANT = "nvshare-tenant"


def tenant_ids():
    """(uid, gid) of the unprivileged tenant, or None when not root."""
    if os.geteuid() != 0:
        return None
    try:
        pw = pwd.getpwnam(TENANT)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home",
                        "--shell", "/usr/sbin/nologin", TENANT], check=True)
        pw = pwd.getpwnam(TENANT)
    return pw.pw_uid, pw.pw_gid


def open_to_tenants(env):
    """Lets another user reach the test's scheduler and simulated GPU: the
    folder can be searched, the simulated driver's shared files written."""
    os.chmod(env.tmp, 0o755)
    for path in (env.state, env.trace_path):
        if not os.path.exists(path):
            open(path, "ab").close()
        os.chmod(path, 0o666)


def drop_to(ids):
    """In a child process: become the tenant for good."""
    if ids is None:
        return
    uid, gid = ids
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)


def as_tenant(fn, *args):
    """Runs fn(*args) in a forked child that has dropped to the tenant;
    returns what it returned (pickled), or raises what it raised."""
    return in_child(tenant_ids(), fn, *args)


def in_child(ids, fn, *args):
    """fn(*args) in a forked child as ids (None: as this process is)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            drop_to(ids)
            out = (True, fn(*args))
        except BaseException as e:  # noqa: B902 - reported to the parent
            out = (False, "%s: %s\n%s" % (type(e).__name__, e,
                                          traceback.format_exc()))
        try:
            data = pickle.dumps(out)
        except Exception as e:  # an unpicklable result
            data = pickle.dumps((False, "result not picklable: %s" % e))
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    os.waitpid(pid, 0)
    ok, value = pickle.loads(data) if data else (False, "child died")
    if not ok:
        raise AssertionError("in the child (%s): %s" %
                             ("tenant" if ids else "self", value))
    return value


def tenant_can_run(path):
    """Whether the tenant may execute path (a checkout under /root is out
    of its reach)."""
    if tenant_ids() is None:
        return True
    return as_tenant(lambda: os.access(path, os.X_OK))


def popen_as_tenant(argv, env, **kw):
    """subprocess.Popen of argv as the tenant; as the test's own user, with
    a line saying so, when the tenant cannot reach the program."""
    ids = tenant_ids()
    if ids is not None and tenant_can_run(argv[0]):
        kw.update(user=ids[0], group=ids[1], extra_groups=[])
    elif ids is not None:
        print("note: %s is out of %s's reach: run as %d" % (
            argv[0], TENANT, os.geteuid()))
    return subprocess.Popen(argv, env=env, **kw)


def fork_as_tenant(fn, *args):
    """Starts fn(*args) in a forked child that dropped to the tenant; it
    needs no file the tenant could not read (the code is loaded already).
    Returns the child's pid; its exit status is 0 when fn returned."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            drop_to(tenant_ids())
            fn(*args)
            code = 0
        except BaseException:  # noqa: B902 - reported, then exit
            traceback.print_exc()
        finally:
            os._exit(code)
    return pid
