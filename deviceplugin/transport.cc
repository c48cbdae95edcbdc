// transport.cc - the device plugin's gRPC transport: the stubs generated
// from api.proto and a thin adapter to the C side (plugin.h). Nothing is
// decided here; requests become C arrays, C answers become messages.
// gRPC's supported API is C++ (its C core API is private and unstable),
// hence this one C++ file.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include "api.grpc.pb.h"
#include "transport.h"

namespace
{

using grpc::ServerContext;
using grpc::Status;

std::vector<const char *>
c_strings(const google::protobuf::RepeatedPtrField<std::string> &v)
{
	std::vector<const char *> out;
	for (const auto &s : v)
		out.push_back(s.c_str());
	return out;
}

class Plugin final : public v1beta1::DevicePlugin::Service
{
      public:
	explicit Plugin(dp_plugin *p) : p_(p)
	{
	}
	void stop()
	{
		stopping_ = true;
		dp_plugin_wake(p_);
	}

	Status
	GetDevicePluginOptions(ServerContext *, const v1beta1::Empty *,
	                       v1beta1::DevicePluginOptions *out) override
	{
		out->set_pre_start_required(false);
		out->set_get_preferred_allocation_available(true);
		return Status::OK;
	}

	Status ListAndWatch(
	    ServerContext *ctx, const v1beta1::Empty *,
	    grpc::ServerWriter<v1beta1::ListAndWatchResponse> *w) override
	{
		uint64_t gen = 0;
		while (!stopping_ && !ctx->IsCancelled()) {
			dp_device *devs = nullptr;
			size_t n = dp_plugin_list(p_, &devs, &gen);
			v1beta1::ListAndWatchResponse r;
			for (size_t i = 0; i < n; i++) {
				auto *d = r.add_devices();
				d->set_id(devs[i].id);
				d->set_health(devs[i].healthy ? "Healthy"
				                              : "Unhealthy");
				if (devs[i].numa >= 0)
					d->mutable_topology()
					    ->add_nodes()
					    ->set_id(devs[i].numa);
			}
			free(devs);
			if (!w->Write(r))
				break;
			// Wake often enough to notice a cancelled stream.
			while (!stopping_ && !ctx->IsCancelled() &&
			       !dp_plugin_wait(p_, gen, 200))
				;
		}
		return Status::OK;
	}

	Status GetPreferredAllocation(
	    ServerContext *, const v1beta1::PreferredAllocationRequest *req,
	    v1beta1::PreferredAllocationResponse *out) override
	{
		for (const auto &c : req->container_requests()) {
			auto avail = c_strings(c.available_deviceids());
			auto must = c_strings(c.must_include_deviceids());
			size_t size = c.allocation_size() > 0
			                  ? (size_t)c.allocation_size()
			                  : 0;
			std::unique_ptr<char[][DP_ID_MAX]> ids(
			    new char[size ? size : 1][DP_ID_MAX]);
			size_t n = 0;
			char err[256];
			if (dp_plugin_prefer(p_, avail.data(), avail.size(),
			                     must.data(), must.size(), size,
			                     ids.get(), &n, err,
			                     sizeof(err)) < 0)
				return Status(
				    grpc::StatusCode::INVALID_ARGUMENT, err);
			auto *r = out->add_container_responses();
			for (size_t i = 0; i < n; i++)
				r->add_deviceids(ids[i]);
		}
		return Status::OK;
	}

	Status Allocate(ServerContext *, const v1beta1::AllocateRequest *req,
	                v1beta1::AllocateResponse *out) override
	{
		for (const auto &c : req->container_requests()) {
			auto ids = c_strings(c.devices_ids());
			auto a = std::make_unique<dp_container_alloc>();
			char err[256];
			if (dp_plugin_allocate(p_, ids.data(), ids.size(),
			                       a.get(), err, sizeof(err)) < 0)
				return Status(
				    grpc::StatusCode::INVALID_ARGUMENT, err);
			auto *r = out->add_container_responses();
			for (size_t i = 0; i < a->nenv; i++)
				(*r->mutable_envs())[a->env[i].key] =
				    a->env[i].value;
			for (size_t i = 0; i < a->nannot; i++)
				(*r->mutable_annotations())[a->annot[i].key] =
				    a->annot[i].value;
			for (size_t i = 0; i < a->nmount; i++) {
				auto *m = r->add_mounts();
				m->set_container_path(
				    a->mount[i].container_path);
				m->set_host_path(a->mount[i].host_path);
				m->set_read_only(a->mount[i].read_only != 0);
			}
			for (size_t i = 0; i < a->ncdi; i++)
				r->add_cdi_devices()->set_name(a->cdi[i]);
		}
		return Status::OK;
	}

	Status PreStartContainer(ServerContext *,
	                         const v1beta1::PreStartContainerRequest *,
	                         v1beta1::PreStartContainerResponse *) override
	{
		return Status::OK;
	}

      private:
	dp_plugin *p_;
	std::atomic<bool> stopping_{false};
};

std::string unix_target(const char *path)
{
	return std::string("unix://") + path;
}

} // namespace

struct dp_server {
	std::unique_ptr<Plugin> service;
	std::unique_ptr<grpc::Server> server;
};

extern "C" struct dp_server *
dp_server_start(struct dp_plugin *p, const char *path, char *err, size_t errlen)
{
	auto s = std::make_unique<dp_server>();
	grpc::ServerBuilder b;

	unlink(path);
	s->service = std::make_unique<Plugin>(p);
	b.AddListeningPort(unix_target(path),
	                   grpc::InsecureServerCredentials());
	b.RegisterService(s->service.get());
	s->server = b.BuildAndStart();
	if (!s->server) {
		snprintf(err, errlen, "cannot serve on %s", path);
		return nullptr;
	}
	return s.release();
}

extern "C" void dp_server_stop(struct dp_server *s)
{
	if (!s)
		return;
	s->service->stop();
	s->server->Shutdown(std::chrono::system_clock::now() +
	                    std::chrono::seconds(1));
	s->server->Wait();
	delete s;
}

extern "C" int dp_register(const char *kubelet_socket, const char *endpoint,
                           const char *resource_name, int timeout_ms, char *err,
                           size_t errlen)
{
	auto ch = grpc::CreateChannel(unix_target(kubelet_socket),
	                              grpc::InsecureChannelCredentials());
	auto stub = v1beta1::Registration::NewStub(ch);
	grpc::ClientContext ctx;
	v1beta1::RegisterRequest req;
	v1beta1::Empty resp;

	ctx.set_deadline(std::chrono::system_clock::now() +
	                 std::chrono::milliseconds(timeout_ms));
	req.set_version(DP_API_VERSION);
	req.set_endpoint(endpoint);
	req.set_resource_name(resource_name);
	req.mutable_options()->set_get_preferred_allocation_available(true);
	Status st = stub->Register(&ctx, req, &resp);
	if (!st.ok()) {
		snprintf(err, errlen, "%s", st.error_message().c_str());
		return -1;
	}
	return 0;
}
