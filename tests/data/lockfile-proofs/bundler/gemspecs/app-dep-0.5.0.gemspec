Gem::Specification.new do |s|
  s.name = 'app-dep'
  s.version = '0.5.0'
  s.summary = 'test gem app-dep'
  s.authors = ['backline']
  s.files = ['lib/app-dep.rb']
  s.license = 'MIT'
  s.add_runtime_dependency 'vuln-lib', '>= 1.0', '< 2'
  s.add_development_dependency 'minitest', '~> 5.0'
end
