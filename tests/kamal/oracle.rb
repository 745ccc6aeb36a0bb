# Loaded into the real `kamal config` (RUBYOPT=-r this file) by tests/test_kamal_oracle.py. `kamal config`
# prints what Kamal resolves for the whole configuration (roles, every host, the primary host, the
# repository, ssh, the accessories' settings); after it has, this writes what Kamal's own configuration
# objects resolve per role and per accessory, which `kamal config` does not print: each role's hosts, its
# `kamal-proxy deploy` options (Proxy#deploy_options), its env per host (Role#env: root, role and tags
# merged), its `docker run` options, logging and volumes, each accessory's hosts (Accessory#hosts), image, port,
# env, options, volumes and directories (as `--volume` arguments: `$PWD/<service_name>/<dir>:<path>`). Only
# Kamal's public readers are called, and two private ones (specific_volumes, path_volumes); nothing here resolves a secret's value.
at_exit do
  succeeded = $!.nil? || ($!.is_a?(SystemExit) && $!.success?)
  out = ENV["BERTH_KAMAL_FACTS"]
  if succeeded && out && defined?(KAMAL) && KAMAL.configured?
    require "json"
    config = KAMAL.config
    env_of = ->(env) { { "clear" => env.clear.to_h { |k, v| [ k.to_s, v.to_s ] }, "secret" => env.secret_keys.map(&:to_s) } }
    raw_registry = config.raw_config.registry || {}
    facts = {
      "service" => config.service,
      "primary_role" => config.primary_role_name,
      "registry" => { "server" => raw_registry["server"],
                      "username" => (raw_registry["username"] if raw_registry["username"].is_a?(String)) },
      "boot_limit" => config.boot.limit,
      "env_tags" => config.env_tags.to_h { |tag| [ tag.name.to_s, env_of.(tag.env) ] },
      "roles" => config.roles.to_h { |role|
        [ role.name, {
          "hosts" => role.hosts,
          "cmd" => role.cmd,
          "proxy" => (role.proxy.deploy_options.merge("app_port" => role.proxy.app_port) if role.running_proxy?),
          "env" => role.hosts.to_h { |host| [ host, env_of.(role.env(host)) ] },
          "tags" => role.hosts.to_h { |host| [ host, role.env_tags(host).map { |tag| tag.name.to_s } ] },
          "proxy_publish" => (role.hosts.map { |host| config.proxy_run(host)&.publish_args }.first if role.running_proxy?),
          "docker" => { "options" => role.option_args.map(&:to_s), "logging" => role.logging_args.map(&:to_s),
                        "volumes" => config.volume_args.map(&:to_s) }
        } ]
      },
      "accessories" => config.accessories.to_h { |accessory|
        [ accessory.name, {
          "hosts" => accessory.hosts,
          "image" => accessory.image,
          "port" => accessory.port,
          "cmd" => accessory.cmd,
          "registry" => accessory.registry && config.raw_config.accessories[accessory.name]["registry"]["server"],
          "proxy" => (accessory.proxy.deploy_options.merge("app_port" => accessory.proxy.app_port) if accessory.running_proxy?),
          "env" => env_of.(accessory.env),
          "docker" => { "options" => accessory.option_args.map(&:to_s), "logging" => config.logging_args.map(&:to_s),
                        "volumes" => accessory.send(:specific_volumes).map(&:to_s),
                        "directories" => accessory.send(:path_volumes, accessory.directories).map(&:docker_args_string) }
        } ]
      }
    }
    File.write(out, JSON.pretty_generate(facts))
  end
end
