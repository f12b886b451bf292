# frozen_string_literal: true

# user_setup: the `users` data bag (written by key-sync) -> users, groups, membership and
# exact authorized_keys on this node, then the proof of what is installed as node
# attributes. Every decision is made by UserSetup::Planner (libraries/plan.rb, unit-tested);
# this recipe only reads the host, asks for the plan and turns each step into one core
# resource.

config = UserSetup::Config.from_attributes(node['user_setup'])
items = search(config.data_bag, config.search_query).map do |item|
  item.respond_to?(:raw_data) ? item.raw_data.to_hash : item.to_hash
end
previous = UserSetup::Proof.previous(node['user_setup']['installed'])
plan = UserSetup::Planner.new(config).plan(items: items, state: UserSetup::Live.state, previous: previous)

plan.warnings.each { |w| Chef::Log.warn("user_setup: #{w}") }
Chef::Log.info("user_setup: #{items.size} item(s) read, #{plan.steps.size} step(s) planned")
plan.describe.each { |line| Chef::Log.info("user_setup: #{line}") }

plan.steps.each do |step|
  case step[:kind]
  when :create_group
    group step[:name] do
      gid step[:gid] if step[:gid]
      action :create
    end
  when :create_user
    user step[:name] do
      uid step[:uid] if step[:uid]
      gid step[:gid] if step[:gid]
      home step[:home]
      shell step[:shell]
      comment step[:comment] if step[:comment]
      manage_home true
      action :create
    end
  when :modify_user
    user "#{step[:name]} (modify)" do
      username step[:name]
      shell step[:shell] if step.key?(:shell)
      comment step[:comment] if step.key?(:comment)
      action :modify
    end
  when :unlock_user
    user "#{step[:name]} (unlock)" do
      username step[:name]
      action :unlock
    end
  when :lock_user
    user "#{step[:name]} (lock)" do
      username step[:name]
      action :lock
    end
  when :remove_user
    user "#{step[:name]} (remove)" do
      username step[:name]
      manage_home step[:remove_home]
      action :remove
    end
  when :unlink
    link step[:path] do
      action :delete
    end
  when :ssh_dir
    directory step[:path] do
      owner step[:owner]
      group step[:group] if step[:group]
      mode '0700'
    end
  when :key_file
    file step[:path] do
      content step[:content]
      owner step[:owner]
      group step[:group] if step[:group]
      mode '0600'
    end
  when :set_members
    group "#{step[:name]} (members)" do
      group_name step[:name]
      members step[:members]
      append false
      action :modify
    end
  else
    raise "user_setup: unknown step #{step[:kind].inspect}"
  end
end

# The proof, read back from the files once every step has run (a failed run records
# nothing, so an old `at` shows the node did not converge). See README.md.
ruby_block 'user_setup: record installed keys' do
  block do
    now = Time.now.to_i
    node.normal['user_setup']['installed'] = UserSetup::Proof.collect(plan.proof, at: now)
    node.normal['user_setup']['checked_at'] = now
  end
end
